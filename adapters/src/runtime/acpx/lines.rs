//! Reading NDJSON lines with a bound on each: a child printing a line with
//! no end must not make the gateway buffer it all. An over-long line is
//! read through to its newline and dropped, so the lines after it still
//! parse.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The longest line acpx may print that is still read (16 MiB); a longer
/// one is skipped. ACP messages are far smaller, short of a huge file read.
pub(crate) const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// What [`next_line`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// The stream ended before any byte of a new line.
    End,
    /// A line (without its newline) is in the buffer; the stream's last
    /// line may have none.
    Kept,
    /// A line longer than the limit was read through and dropped; the buffer is empty.
    TooLong,
}

/// Reads the next line into `line` (cleared first), keeping at most `max`
/// bytes of it: past that, the rest up to the newline is consumed without
/// being stored and the line is reported [`Line::TooLong`].
pub(crate) async fn next_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    line.clear();
    let mut read_any = false;
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(match (read_any, too_long) {
                (false, _) => Line::End,
                (true, true) => Line::TooLong,
                (true, false) => Line::Kept,
            });
        }
        read_any = true;
        let newline = available.iter().position(|b| *b == b'\n');
        let content = &available[..newline.unwrap_or(available.len())];
        if !too_long {
            if line.len() + content.len() > max {
                too_long = true;
                // Give the memory back: the line will not be kept.
                *line = Vec::new();
            } else {
                line.extend_from_slice(content);
            }
        }
        // The newline itself is consumed too.
        let used = newline.map_or(available.len(), |i| i + 1);
        reader.consume(used);
        if newline.is_some() {
            return Ok(if too_long { Line::TooLong } else { Line::Kept });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    /// Every line of `input` read with `max` and a tiny read buffer (so
    /// lines span many reads), as (what, text).
    async fn lines(input: &[u8], max: usize) -> Vec<(Line, String)> {
        let mut reader = BufReader::with_capacity(3, input);
        let mut line = Vec::new();
        let mut out = Vec::new();
        loop {
            let what = next_line(&mut reader, &mut line, max).await.unwrap_or_else(|e| panic!("{e}"));
            if what == Line::End {
                return out;
            }
            out.push((what, String::from_utf8_lossy(&line).into_owned()));
        }
    }

    #[tokio::test]
    async fn lines_within_the_limit_come_whole_without_their_newline() {
        assert_eq!(
            lines(b"abcdef\n\nxy\nlast", 6).await,
            [
                (Line::Kept, "abcdef".into()),
                (Line::Kept, String::new()),
                (Line::Kept, "xy".into()),
                (Line::Kept, "last".into())
            ]
        );
    }

    #[tokio::test]
    async fn a_line_over_the_limit_is_skipped_and_the_next_line_still_reads() {
        assert_eq!(
            lines(b"short\nfar too long a line\nok\n", 6).await,
            [(Line::Kept, "short".into()), (Line::TooLong, String::new()), (Line::Kept, "ok".into())]
        );
    }

    #[tokio::test]
    async fn an_unterminated_line_over_the_limit_at_the_end_is_skipped() {
        assert_eq!(lines(b"ok\n0123456789", 4).await, [(Line::Kept, "ok".into()), (Line::TooLong, String::new())]);
    }

    #[tokio::test]
    async fn an_empty_stream_has_no_lines() {
        assert_eq!(lines(b"", 4).await, []);
    }
}
