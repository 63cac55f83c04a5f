//! Claude's final text as the `result` value: JSON when it is JSON (inside
//! a Markdown code fence or not), else the text itself. Pure.

use serde_json::Value;

/// The text inside a Markdown code fence (```json ... ``` or ``` ... ```), if it is one.
fn unfenced(text: &str) -> Option<&str> {
    let body = text.trim().strip_prefix("```")?.strip_suffix("```")?;
    // The opening line may name a language (`json`); the content starts after it.
    let (first, rest) = body.split_once('\n')?;
    if first.trim().chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        Some(rest)
    } else {
        None
    }
}

/// The JSON value of `text` when it is JSON (a code fence stripped first), else the string.
pub(crate) fn result_value(text: &str) -> Value {
    let candidate = unfenced(text).unwrap_or(text);
    serde_json::from_str(candidate.trim()).unwrap_or_else(|_| Value::String(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_text_becomes_its_value() {
        assert_eq!(result_value("{\"a\": [1, 2]}"), json!({"a": [1, 2]}));
        assert_eq!(result_value(" 42 "), json!(42));
    }

    #[test]
    fn a_json_code_fence_is_stripped_first() {
        assert_eq!(result_value("```json\n{\"answer\": 42}\n```"), json!({"answer": 42}));
        assert_eq!(result_value("\n```\n[1, 2]\n```\n"), json!([1, 2]));
    }

    #[test]
    fn other_text_stays_a_string() {
        assert_eq!(result_value("just words"), json!("just words"));
        assert_eq!(result_value("```json\nnot json\n```"), json!("```json\nnot json\n```"));
        assert_eq!(result_value("```python\nx = 1\n```"), json!("```python\nx = 1\n```"));
        assert_eq!(result_value(""), json!(""));
    }
}
