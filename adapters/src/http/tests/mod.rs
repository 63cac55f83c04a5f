//! In-process tests of the HTTP API over the memory ledger and mocked agents.
