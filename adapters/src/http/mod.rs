//! The driving HTTP adapter (poem + poem-openapi).
