use crate::http::body::field;
use crate::http::schemas::Nullable;
use clawdforge_domain::model::{Prompt, Redacted};
use clawdforge_domain::runs::RunInput;
use clawdforge_domain::Error;
use poem_openapi::types::Example;
use poem_openapi::Object;
use serde::Deserialize;
use serde_json::{json, Value};

// Not `Debug`: it holds the prompts in clear; the domain's `RunInput` shows them redacted.
/// `POST /run`: one stateless `claude -p` job.
#[derive(Clone, PartialEq, Eq, Object, Deserialize)]
#[oai(rename = "RunRequest", example, skip_serializing_if_is_none)]
pub struct RunRequestBody {
    /// The prompt: not blank, at most the configured limit (default 256 KiB).
    #[oai(validator(min_length = 1, pattern = r"\S"))]
    #[serde(deserialize_with = "field::required")]
    pub prompt: String,
    /// The Claude model (`sonnet`, `opus`, ...); the CLI's default when absent.
    /// No leading `-` and no control character: it goes into the CLI's argv.
    #[oai(
        nullable,
        validator(max_length = 200, pattern = r"^([^\-\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*)?$")
    )]
    #[serde(default, deserialize_with = "field::optional")]
    pub model: Option<String>,
    /// A system prompt.
    #[oai(nullable)]
    #[serde(default, deserialize_with = "field::optional")]
    pub system_prompt: Option<String>,
    /// Claude's `--max-turns`, at least 1.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "4294967295")))]
    #[serde(default, deserialize_with = "field::optional")]
    pub max_turns: Option<u32>,
    /// Seconds the job may take: the server's `run_timeout_secs` (default 300)
    /// when absent, at most its `run_max_timeout_secs` (default 1800), which is
    /// this field's `maximum` in the spec the server serves.
    #[oai(nullable, validator(minimum(value = "1"), maximum(value = "1800")))]
    #[serde(default, deserialize_with = "field::optional")]
    pub timeout_secs: Option<u64>,
}

impl Example for RunRequestBody {
    fn example() -> Self {
        Self {
            prompt: r#"Reply with JSON: {"hello":"world"}"#.into(),
            model: Some("sonnet".into()),
            system_prompt: None,
            max_turns: None,
            timeout_secs: None,
        }
    }
}

impl RunRequestBody {
    /// The domain's input, its prompt parsed against the configured limit.
    pub fn into_input(self, max_prompt_bytes: usize) -> Result<RunInput, Error> {
        Ok(RunInput {
            prompt: Prompt::parse(self.prompt, max_prompt_bytes)?,
            model: self.model,
            system_prompt: self.system_prompt.map(Redacted::new),
            max_turns: self.max_turns,
            timeout_secs: self.timeout_secs,
        })
    }
}

/// Claude answered (the v0.1 shape: exactly these four keys).
#[derive(Debug, Clone, PartialEq, Object)]
#[oai(example)]
pub struct RunResult {
    /// Always `true`.
    pub ok: bool,
    /// Claude's final text: its JSON value when it is JSON (a Markdown code
    /// fence around it is stripped first), else the text as a string.
    pub result: Value,
    /// Wall time of the job.
    pub duration_ms: u64,
    /// Claude's stop reason, when it reported one.
    #[oai(nullable)]
    pub stop_reason: Nullable<String>,
}

impl Example for RunResult {
    fn example() -> Self {
        Self {
            ok: true,
            result: json!({ "hello": "world" }),
            duration_ms: 4120,
            stop_reason: Nullable(Some("end_turn".into())),
        }
    }
}

/// Claude failed or timed out (the v0.1 shape: exactly these five keys).
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example)]
pub struct RunFailure {
    /// Always `false`.
    pub ok: bool,
    /// What went wrong.
    pub error: String,
    /// The last 8 KiB of Claude's stderr.
    pub stderr: String,
    /// Wall time of the job.
    pub duration_ms: u64,
    /// The stop reason: `timeout` for a timeout, `error` when Claude reported none.
    pub stop_reason: String,
}

impl Example for RunFailure {
    fn example() -> Self {
        Self {
            ok: false,
            error: "claude exit 1".into(),
            stderr: "boom".into(),
            duration_ms: 10,
            stop_reason: "error".into(),
        }
    }
}
