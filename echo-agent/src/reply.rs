//! How the echo agent cuts its reply into chunks.

/// How many chunks a reply is streamed in, at least (short prompts give fewer).
const CHUNKS: usize = 3;
/// The largest chunk, so that a big prompt streams as many moderate lines.
const MAX_CHUNK_BYTES: usize = 64 * 1024;

/// Splits `text` into consecutive non-empty pieces on char boundaries:
/// about `CHUNKS` pieces, none over `MAX_CHUNK_BYTES` (unless one char is).
pub(crate) fn chunks(text: &str) -> Vec<&str> {
    let target = text.len().div_ceil(CHUNKS).clamp(1, MAX_CHUNK_BYTES);
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = target.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (head, tail) = rest.split_at(cut);
        out.push(head);
        rest = tail;
    }
    out
}

/// The last chunk of a turn: the session's turn number, for tests to read.
pub(crate) fn turn_marker(turn: u64) -> String {
    format!("\n[turn {turn}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_rebuild_the_text_exactly() {
        for text in ["hello world", "a", "", "ünïcödé ✓ text", &"x".repeat(300_000)] {
            assert_eq!(chunks(text).concat(), text);
        }
    }

    #[test]
    fn a_normal_prompt_streams_in_several_chunks() {
        assert_eq!(chunks("hello world").len(), 3);
    }

    #[test]
    fn big_prompts_stream_in_bounded_chunks() {
        let text = "y".repeat(1024 * 1024);
        let parts = chunks(&text);
        assert!(parts.iter().all(|c| c.len() <= MAX_CHUNK_BYTES));
        assert_eq!(parts.len(), 16);
    }

    #[test]
    fn multibyte_chars_are_never_split() {
        let text = "ééééé";
        assert!(chunks(text).iter().all(|c| c.chars().count() >= 1));
    }
}
