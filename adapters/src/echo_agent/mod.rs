//! The bundled ACP echo agent (`clawdforge echo-agent`).
