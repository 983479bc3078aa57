//! Decoding the extract file: UTF-8 (BOM optional) or CP932, chosen or detected.
//!
//! CP932 is decoded as the file is read (64 KiB at a time), so a million-row file is never
//! held twice in memory; UTF-8 is validated once and read in place.

use super::ImportError;
use serde::{Deserialize, Serialize};
use std::io::Read;

/// Text encoding of an extract file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Encoding {
    #[serde(rename = "utf-8")]
    Utf8,
    /// Shift_JIS as Windows writes it (Windows-31J), with the NEC / IBM extensions.
    #[serde(rename = "cp932")]
    Cp932,
}

impl Encoding {
    /// "utf-8" / "cp932" (the CLI's `--encoding` values and the audit detail).
    pub fn label(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Cp932 => "cp932",
        }
    }

    /// Parses a CLI / UI value: `utf-8`, `utf8`, `cp932`, `shift_jis`, `sjis`, `windows-31j`.
    pub fn from_label(label: &str) -> Option<Encoding> {
        match label.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Some(Encoding::Utf8),
            "cp932" | "shift_jis" | "shift-jis" | "sjis" | "windows-31j" | "ms932" => {
                Some(Encoding::Cp932)
            }
            _ => None,
        }
    }
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The file's bytes, once the encoding is settled.
#[derive(Debug)]
pub(crate) enum Source<'a> {
    /// Valid UTF-8, BOM removed.
    Utf8(&'a [u8]),
    Cp932(&'a [u8]),
}

impl<'a> Source<'a> {
    pub(crate) fn into_reader(self) -> Box<dyn Read + 'a> {
        match self {
            Source::Utf8(b) => Box::new(WithoutCr(b)),
            Source::Cp932(b) => Box::new(WithoutCr(Cp932Reader::new(b))),
        }
    }
}

/// Drops carriage returns from the decoded UTF-8 text, so that Windows (CRLF) files read as
/// `\n`-terminated lines: the CSV reader's line numbers lag one line behind on CRLF records,
/// and every error message names a line. A CR byte never occurs inside a multi-byte UTF-8
/// sequence, and a CR inside a name or an address carries no meaning.
struct WithoutCr<R>(R);

impl<R: Read> Read for WithoutCr<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.0.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            let mut kept = 0;
            for i in 0..n {
                if buf[i] != b'\r' {
                    buf[kept] = buf[i];
                    kept += 1;
                }
            }
            // A chunk of nothing but CRs must not read as the end of the file.
            if kept > 0 {
                return Ok(kept);
            }
        }
    }
}

/// 1-based line of byte offset `at`.
fn line_at(bytes: &[u8], at: usize) -> u64 {
    bytes[..at.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
        + 1
}

/// Settles the encoding: the chosen one, or UTF-8 when the bytes are valid UTF-8, else CP932.
pub(crate) fn resolve(
    bytes: &[u8],
    chosen: Option<Encoding>,
) -> Result<(Encoding, Source<'_>), ImportError> {
    let without_bom = bytes.strip_prefix(UTF8_BOM).unwrap_or(bytes);
    let utf8 = std::str::from_utf8(without_bom);
    match (chosen, utf8) {
        (Some(Encoding::Utf8) | None, Ok(_)) => Ok((Encoding::Utf8, Source::Utf8(without_bom))),
        (Some(Encoding::Utf8), Err(e)) => Err(ImportError::Decode {
            line: line_at(without_bom, e.valid_up_to()),
            encoding: Encoding::Utf8,
        }),
        (Some(Encoding::Cp932) | None, _) => Ok((Encoding::Cp932, Source::Cp932(bytes))),
    }
}

/// Expected data rows: the file's line count less the header. In CP932, as in UTF-8, the byte
/// 0x0A never occurs inside a multi-byte character, so this is exact unless a quoted field
/// holds a line break.
pub(crate) fn estimate_rows(bytes: &[u8]) -> u64 {
    let newlines = bytes.iter().filter(|b| **b == b'\n').count() as u64;
    let last_unterminated = u64::from(bytes.last().is_some_and(|b| *b != b'\n'));
    (newlines + last_unterminated).saturating_sub(1)
}

/// A CP932 byte sequence that does not decode, at this 1-based line.
#[derive(Debug)]
pub(crate) struct DecodeFailure {
    pub line: u64,
}

impl std::fmt::Display for DecodeFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CP932 decode failure at line {}", self.line)
    }
}

impl std::error::Error for DecodeFailure {}

const CHUNK: usize = 64 * 1024;

/// Decodes CP932 to UTF-8 while it is read; a malformed sequence is an `InvalidData` error
/// carrying a [`DecodeFailure`] with its line.
struct Cp932Reader<'a> {
    src: &'a [u8],
    pos: usize,
    decoder: encoding_rs::Decoder,
    buf: Vec<u8>,
    buf_pos: usize,
    finished: bool,
}

impl<'a> Cp932Reader<'a> {
    fn new(src: &'a [u8]) -> Self {
        Cp932Reader {
            src,
            pos: 0,
            // Without BOM sniffing: a CP932 file has no BOM, and a UTF-8 BOM here would be a
            // wrongly chosen encoding that must fail rather than silently switch.
            decoder: encoding_rs::SHIFT_JIS.new_decoder_without_bom_handling(),
            buf: Vec::new(),
            buf_pos: 0,
            finished: false,
        }
    }

    fn refill(&mut self) -> std::io::Result<()> {
        let end = (self.pos + CHUNK).min(self.src.len());
        let last = end == self.src.len();
        let chunk = &self.src[self.pos..end];
        let cap = self
            .decoder
            .max_utf8_buffer_length_without_replacement(chunk.len())
            .unwrap_or(chunk.len() * 3 + 16);
        self.buf.clear();
        self.buf.resize(cap, 0);
        let (res, read, written) =
            self.decoder
                .decode_to_utf8_without_replacement(chunk, &mut self.buf, last);
        if let encoding_rs::DecoderResult::Malformed(bad, after) = res {
            let at = (self.pos + read).saturating_sub(usize::from(bad) + usize::from(after));
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                DecodeFailure {
                    line: line_at(self.src, at),
                },
            ));
        }
        self.buf.truncate(written);
        self.buf_pos = 0;
        self.pos += read;
        if last && self.pos == self.src.len() && res == encoding_rs::DecoderResult::InputEmpty {
            self.finished = true;
        }
        Ok(())
    }
}

impl Read for Cp932Reader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.buf_pos == self.buf.len() {
            if self.finished {
                return Ok(0);
            }
            self.refill()?;
        }
        let n = out.len().min(self.buf.len() - self.buf_pos);
        out[..n].copy_from_slice(&self.buf[self.buf_pos..self.buf_pos + n]);
        self.buf_pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(src: &[u8]) -> std::io::Result<String> {
        let mut s = String::new();
        Cp932Reader::new(src).read_to_string(&mut s)?;
        Ok(s)
    }

    #[test]
    fn cp932_extension_characters_decode() {
        // 髙 (IBM extension, FB FC) and 﨑 (FA B1) are Windows-31J, not JIS X 0208.
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode("髙橋,山﨑,ｱｲｳ,①\r\n");
        assert!(!unmappable);
        assert_eq!(read_all(&bytes).unwrap(), "髙橋,山﨑,ｱｲｳ,①\r\n");
    }

    #[test]
    fn a_long_file_decodes_across_chunk_boundaries() {
        let line = "あいうえお髙﨑,1234\n";
        let text = line.repeat(20_000);
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
        assert!(bytes.len() > 3 * CHUNK);
        assert_eq!(read_all(&bytes).unwrap(), text);
    }

    #[test]
    fn a_malformed_sequence_names_its_line() {
        let mut bytes = b"a,b\nc,d\n".to_vec();
        bytes.extend_from_slice(b"e,\x81\x20\n");
        let err = read_all(&bytes).unwrap_err();
        let f = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<DecodeFailure>())
            .unwrap();
        assert_eq!(f.line, 3);
    }

    #[test]
    fn detection_and_bom() {
        let (e, s) = resolve("\u{FEFF}宛名番号\n".as_bytes(), None).unwrap();
        assert_eq!(e, Encoding::Utf8);
        assert!(matches!(s, Source::Utf8(b) if b == "宛名番号\n".as_bytes()));
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("宛名番号\n");
        assert_eq!(resolve(&sjis, None).unwrap().0, Encoding::Cp932);
        let mut bad = b"a\nb\n".to_vec();
        bad.extend_from_slice(&sjis);
        match resolve(&bad, Some(Encoding::Utf8)) {
            Err(ImportError::Decode { line, .. }) => assert_eq!(line, 3),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn row_estimate() {
        assert_eq!(estimate_rows(b"h\n1\n2\n"), 2);
        assert_eq!(estimate_rows(b"h\n1\n2"), 2);
        assert_eq!(estimate_rows(b""), 0);
    }
}
