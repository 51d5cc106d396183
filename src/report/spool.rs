//! Text rendered piece by piece and written out as it grows.
//!
//! The Markdown and JUnit reports of a thousand subscriptions are a hundred megabytes or more:
//! built whole in one string, they doubled the audit's peak memory. Their renderers still
//! write into a `String` (with `write!`, which cannot fail), and hand it to the writer at
//! natural boundaries once it passes a megabyte.

use std::io::{self, Write};

/// How much is buffered before it is written.
const CHUNK: usize = 1 << 20;

pub struct Spool<'a> {
    pub buf: String,
    out: &'a mut dyn Write,
}

impl<'a> Spool<'a> {
    pub fn new(out: &'a mut dyn Write) -> Self {
        Spool {
            buf: String::with_capacity(CHUNK + CHUNK / 4),
            out,
        }
    }

    /// Writes what is buffered once it passes [`CHUNK`], except a trailing run of line feeds:
    /// [`Spool::finish_one_newline`] may still have to fold it.
    pub fn drain_if_full(&mut self) -> io::Result<()> {
        if self.buf.len() < CHUNK {
            return Ok(());
        }
        let keep = self.buf.trim_end_matches('\n').len();
        self.out.write_all(&self.buf.as_bytes()[..keep])?;
        self.buf.drain(..keep);
        Ok(())
    }

    /// Writes the rest.
    pub fn finish(self) -> io::Result<()> {
        self.out.write_all(self.buf.as_bytes())
    }

    /// Writes the rest, ending the text with at most one line feed.
    pub fn finish_one_newline(mut self) -> io::Result<()> {
        while self.buf.ends_with("\n\n") {
            self.buf.pop();
        }
        self.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_is_what_was_built_with_one_final_newline() {
        let mut built = String::new();
        let mut out = Vec::new();
        let mut spool = Spool::new(&mut out);
        for i in 0..300_000 {
            let piece = format!("line {i}\n\n");
            built.push_str(&piece);
            spool.buf.push_str(&piece);
            spool.drain_if_full().unwrap();
        }
        spool.finish_one_newline().unwrap();
        while built.ends_with("\n\n") {
            built.pop();
        }
        assert!(built.len() > 2 * CHUNK, "the test spans several chunks");
        assert_eq!(String::from_utf8(out).unwrap(), built);
    }
}
