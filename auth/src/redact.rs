//! Keeping secrets out of what is shown: [`redact_url`] for URLs that may
//! carry credentials, and [`Scrubber`] for text that came from a peer
//! (a token endpoint's error answer may quote the request it received,
//! client secret included, in whatever encoding).
//!
//! ```
//! use ferrokafka_auth::redact::{redact_url, Scrubber};
//! use ferrokafka_auth::Secret;
//! assert_eq!(
//!     redact_url("https://app:pw@login.example/t/token?client_secret=s&v=2"),
//!     "https://<redacted>@login.example/t/token?client_secret=<redacted>&v=<redacted>"
//! );
//! let scrubber = Scrubber::new().secret(&Secret::new("s3cret +/="));
//! assert_eq!(
//!     scrubber.excerpt("bad body: client_secret=s3cret+%2b%2F%3D&scope=x"),
//!     "bad body: client_secret=<redacted>&scope=x"
//! );
//! ```

use std::fmt;

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::Secret;

/// What replaces a secret in shown text.
pub const REDACTED: &str = "<redacted>";

/// The most characters of a peer's text that [`Scrubber::excerpt`] keeps.
pub const EXCERPT_CHARS: usize = 200;

/// `url` with its user information (`user:password@`), query values and
/// fragment replaced by [`REDACTED`]; scheme, host, port, path and query
/// keys stay, so the URL is still recognisable. Works on any text (a
/// malformed URL is redacted as well as it can be read).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut out = String::with_capacity(url.len());
    out.push_str(scheme);
    match authority.rfind('@') {
        Some(at) => {
            out.push_str(REDACTED);
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let (before_fragment, fragment) = match tail.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (tail, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (before_fragment, None),
    };
    out.push_str(path);
    if let Some(query) = query {
        out.push('?');
        for (i, pair) in query.split('&').enumerate() {
            if i > 0 {
                out.push('&');
            }
            match pair.split_once('=') {
                Some((key, _)) => {
                    out.push_str(key);
                    out.push('=');
                    out.push_str(REDACTED);
                }
                // A bare value may be a token itself.
                None if !pair.is_empty() => out.push_str(REDACTED),
                None => {}
            }
        }
    }
    if fragment.is_some_and(|f| !f.is_empty()) {
        out.push('#');
        out.push_str(REDACTED);
    }
    out
}

/// Removes secrets from text a peer sent, in every encoding the peer
/// could have echoed them in.
///
/// Each secret is found as is, form- or percent-encoded (`+` or `%20`
/// for a space, hex digits in either case, any mix of encoded and plain
/// characters), JSON-escaped (`\"`, `\/`, `\u00e9`, surrogate pairs), as
/// an HTML character reference, and in base64 (standard or URL-safe,
/// padded or not, also inside a longer base64 text such as an HTTP Basic
/// `Authorization` value). [`basic_credentials`](Self::basic_credentials)
/// adds the `client_id:secret` pair of HTTP Basic authentication.
///
/// Its `Debug` output shows how many forms it looks for, never them.
#[derive(Default, Clone)]
pub struct Scrubber {
    /// Every form looked for, as characters; each is also matched in the
    /// character-level encodings above.
    needles: Vec<Zeroizing<Vec<char>>>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scrubber")
            .field("forms", &self.needles.len())
            .finish()
    }
}

const BASE64_ENGINES: [base64::engine::GeneralPurpose; 2] = [
    base64::engine::general_purpose::STANDARD,
    base64::engine::general_purpose::URL_SAFE,
];

impl Scrubber {
    /// A scrubber that removes nothing yet.
    pub fn new() -> Self {
        Scrubber::default()
    }

    /// Also removes `secret` (an empty secret is ignored).
    #[must_use]
    pub fn secret(mut self, secret: &Secret) -> Self {
        let plain = secret.expose();
        if plain.is_empty() {
            return self;
        }
        self.add(plain);
        self.add_base64(plain.as_bytes());
        // RFC 6749 §2.3.1 form-encodes the secret before base64 (Basic).
        self.add_base64(form_encode(plain).as_bytes());
        self
    }

    /// Also removes the HTTP Basic credentials `client_id:secret`
    /// (plain and form-encoded before base64, RFC 6749 §2.3.1), and the
    /// secret itself.
    #[must_use]
    pub fn basic_credentials(self, client_id: &str, secret: &Secret) -> Self {
        let mut this = self.secret(secret);
        if secret.is_empty() {
            return this;
        }
        let pair = Zeroizing::new(format!("{client_id}:{}", secret.expose()));
        this.add_base64(pair.as_bytes());
        let encoded = Zeroizing::new(format!(
            "{}:{}",
            form_encode(client_id),
            form_encode(secret.expose())
        ));
        this.add_base64(encoded.as_bytes());
        this
    }

    fn add(&mut self, form: &str) {
        let chars: Vec<char> = form.chars().collect();
        if !chars.is_empty() && !self.needles.iter().any(|n| **n == chars) {
            self.needles.push(Zeroizing::new(chars));
        }
    }

    /// The base64 forms of `bytes`: whole (padded and not), and the part
    /// that depends only on `bytes` when they start one or two bytes into
    /// a 3-byte group of a longer base64 text.
    fn add_base64(&mut self, bytes: &[u8]) {
        for engine in &BASE64_ENGINES {
            let whole = Zeroizing::new(engine.encode(bytes));
            self.add(&whole);
            self.add(whole.trim_end_matches('='));
            for offset in 0..3usize {
                let mut shifted = Zeroizing::new(vec![0u8; offset]);
                shifted.extend_from_slice(bytes);
                let encoded = Zeroizing::new(engine.encode(&*shifted));
                // Characters made only of `bytes`' bits.
                let first = (offset * 8).div_ceil(6);
                let last = ((offset + bytes.len()) * 8) / 6;
                // Shorter cores would match unrelated base64 text.
                if last >= first + 6 {
                    self.add(&encoded[first..last]);
                }
            }
        }
    }

    /// `text` with every form of every secret replaced by [`REDACTED`].
    pub fn scrub(&self, text: &str) -> String {
        if self.needles.is_empty() {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        while pos < text.len() {
            let end = self
                .needles
                .iter()
                .filter_map(|needle| match_end(text, pos, needle))
                .max();
            match end {
                Some(end) => {
                    out.push_str(REDACTED);
                    pos = end;
                }
                None => {
                    let c = text[pos..].chars().next().unwrap_or_default();
                    out.push(c);
                    pos += c.len_utf8();
                }
            }
        }
        out
    }

    /// What may go into an error or a log from a peer's `text`: the first
    /// line of the scrubbed text, control characters made spaces, cut to
    /// [`EXCERPT_CHARS`] characters (`…` marks a cut). Scrubbing comes
    /// first, so a cut never leaves part of a secret.
    pub fn excerpt(&self, text: &str) -> String {
        let scrubbed = self.scrub(text);
        let line = scrubbed.lines().next().unwrap_or_default().trim();
        let mut out: String = line
            .chars()
            .take(EXCERPT_CHARS)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if line.chars().nth(EXCERPT_CHARS).is_some() {
            out.push('…');
        }
        out
    }
}

/// `application/x-www-form-urlencoded`, as the token request is sent.
pub(crate) fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Where a reading of `needle` that starts at byte `start` of `text` ends
/// (the longest, when several encodings fit), each character in any of
/// the forms [`char_forms`] knows. The readings are followed side by side,
/// so mixed encodings cost no backtracking.
fn match_end(text: &str, start: usize, needle: &[char]) -> Option<usize> {
    // Most positions start no form of the first character.
    let rest = &text[start..];
    let first = needle.first()?;
    if !rest.starts_with(*first) && !rest.starts_with(['%', '+', '\\', '&']) {
        return None;
    }
    let mut positions = vec![start];
    let mut next = Vec::new();
    for &c in needle {
        next.clear();
        for &pos in &positions {
            char_forms(&text[pos..], c, &mut |len| {
                if !next.contains(&(pos + len)) {
                    next.push(pos + len);
                }
            });
        }
        if next.is_empty() {
            return None;
        }
        std::mem::swap(&mut positions, &mut next);
    }
    positions.into_iter().max()
}

/// Calls `found` with the length of every encoding of `c` that `rest`
/// starts with: `c` itself, `+` for a space, the percent-encoded UTF-8
/// bytes, a JSON escape, an HTML character reference.
fn char_forms(rest: &str, c: char, found: &mut dyn FnMut(usize)) {
    if rest.starts_with(c) {
        found(c.len_utf8());
    }
    if c == ' ' && rest.starts_with('+') {
        found(1);
    }
    let mut utf8 = [0u8; 4];
    let bytes = c.encode_utf8(&mut utf8).as_bytes();
    if rest.len() >= 3 * bytes.len()
        && bytes.iter().enumerate().all(|(i, b)| {
            let escape = &rest.as_bytes()[3 * i..3 * i + 3];
            escape[0] == b'%' && hex_value(&escape[1..]) == Some(u32::from(*b))
        })
    {
        found(3 * bytes.len());
    }
    if let Some(len) = json_escape(rest, c) {
        found(len);
    }
    if let Some(len) = html_reference(rest, c) {
        found(len);
    }
}

/// The value of ASCII hex digits (either case; no sign, at most 8).
fn hex_value(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

/// The length of the JSON string escape of `c` that `rest` starts with.
fn json_escape(rest: &str, c: char) -> Option<usize> {
    let bytes = rest.as_bytes();
    if bytes.first() != Some(&b'\\') {
        return None;
    }
    let short = match c {
        '"' => Some(b'"'),
        '\\' => Some(b'\\'),
        '/' => Some(b'/'),
        '\u{8}' => Some(b'b'),
        '\u{c}' => Some(b'f'),
        '\n' => Some(b'n'),
        '\r' => Some(b'r'),
        '\t' => Some(b't'),
        _ => None,
    };
    if short.is_some() && bytes.get(1).copied() == short {
        return Some(2);
    }
    let mut units = [0u16; 2];
    let units = c.encode_utf16(&mut units);
    for (i, unit) in units.iter().enumerate() {
        let escape = bytes.get(6 * i..6 * i + 6)?;
        if escape[0] != b'\\'
            || escape[1] != b'u'
            || hex_value(&escape[2..]) != Some(u32::from(*unit))
        {
            return None;
        }
    }
    Some(6 * units.len())
}

/// The length of the HTML character reference to `c` that `rest` starts
/// with (`&#233;`, `&#xE9;`, and the five named ones of XML).
fn html_reference(rest: &str, c: char) -> Option<usize> {
    let body = rest.strip_prefix("&")?;
    let end = body.find(';').filter(|&end| end <= 10)?;
    let name = &body[..end];
    let value = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
        hex_value(hex.as_bytes())?
    } else if let Some(decimal) = name.strip_prefix('#') {
        decimal.parse().ok()?
    } else {
        u32::from(match name {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => return None,
        })
    };
    (value == u32::from(c)).then_some(end + 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Characters every encoding writes differently.
    const CANARY: &str = "k9 canary+/=&%\"é😀";

    fn scrubber() -> Scrubber {
        Scrubber::new().secret(&Secret::new(CANARY))
    }

    fn percent(text: &str, every_byte: bool, space: &str, lower: bool) -> String {
        let mut out = String::new();
        for b in text.bytes() {
            match b {
                b' ' if !every_byte => out.push_str(space),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~'
                    if !every_byte =>
                {
                    out.push(b as char)
                }
                _ if lower => out.push_str(&format!("%{b:02x}")),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }

    fn json(text: &str) -> String {
        let mut out = String::new();
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '/' => out.push_str("\\/"),
                c if c.is_ascii() => out.push(c),
                c => {
                    for unit in c.encode_utf16(&mut [0u16; 2]) {
                        out.push_str(&format!("\\u{unit:04X}"));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_encoding_of_the_secret_is_removed() {
        let s = scrubber();
        let mut forms = vec![
            CANARY.to_owned(),
            json(CANARY),
            serde_json::to_string(CANARY).unwrap()[1..]
                .trim_end_matches('"')
                .to_owned(),
            "k9&#32;canary&#x2B;&#47;&#61;&amp;%&quot;&#233;&#128512;".to_owned(),
        ];
        for lower in [false, true] {
            forms.push(percent(CANARY, false, "+", lower));
            forms.push(percent(CANARY, false, "%20", lower));
            forms.push(percent(CANARY, true, "", lower));
        }
        // Mixed: some characters encoded, others not, hex in both cases.
        forms.push("k9%20canary%2b/%3D&%25\"%C3%a9😀".to_owned());
        for engine in &BASE64_ENGINES {
            let b64 = engine.encode(CANARY);
            forms.push(b64.trim_end_matches('=').to_owned());
            // Base64, then form-encoded (`+`, `/`, `=` escaped).
            forms.push(percent(&b64, false, "+", false));
            forms.push(b64);
        }
        for form in forms {
            let text = format!("error: got [{form}] in the request");
            assert_eq!(
                s.scrub(&text),
                "error: got [<redacted>] in the request",
                "{form}"
            );
        }
    }

    #[test]
    fn base64_inside_a_longer_text_and_basic_credentials() {
        let secret = Secret::new(CANARY);
        let s = Scrubber::new().basic_credentials("app-1", &secret);
        // Whatever precedes the secret in one base64 text, no part of it
        // that encodes only the secret survives.
        for prefix in ["", "a", "ab", "abc", "user:"] {
            let encoded = base64::engine::general_purpose::STANDARD
                .encode(format!("{prefix}{CANARY}:trailer"));
            // Only the characters that also carry bits of the prefix or
            // the trailer remain.
            let first = (prefix.len() * 8).div_ceil(6);
            let last = (prefix.len() + CANARY.len()) * 8 / 6;
            assert_eq!(
                s.scrub(&encoded),
                format!("{}{REDACTED}{}", &encoded[..first], &encoded[last..]),
                "{prefix:?}"
            );
        }
        for pair in [
            format!("app-1:{CANARY}"),
            format!("app-1:{}", form_encode(CANARY)),
        ] {
            let header = format!(
                "Authorization: Basic {}",
                base64::engine::general_purpose::STANDARD.encode(&pair)
            );
            assert_eq!(s.scrub(&header), "Authorization: Basic <redacted>");
        }
    }

    #[test]
    fn excerpts_are_short_single_lines_cut_after_scrubbing() {
        let s = scrubber();
        let long = format!("{}{}", "x".repeat(EXCERPT_CHARS - 3), CANARY);
        let excerpt = s.excerpt(&long);
        // The secret straddles the cut: it is gone whole, not in part.
        assert!(excerpt.starts_with(&"x".repeat(EXCERPT_CHARS - 3)));
        assert!(excerpt.ends_with("<re…"), "{excerpt}");
        assert!(!excerpt.contains("k9"), "{excerpt}");
        assert_eq!(s.excerpt("first\tline\r\nTrace ID: 42"), "first line");
        // Nothing configured: nothing removed, still cut.
        let none = Scrubber::new();
        assert_eq!(none.scrub(CANARY), CANARY);
        assert_eq!(
            none.excerpt(&"y".repeat(500)).chars().count(),
            EXCERPT_CHARS + 1
        );
        // An empty secret removes nothing.
        let empty = Scrubber::new().secret(&Secret::new(""));
        assert_eq!(empty.scrub("abc"), "abc");
        assert!(!format!("{s:?}").contains("k9"));
    }

    #[test]
    fn text_without_the_secret_is_kept() {
        let s = scrubber();
        for text in [
            "AADSTS7000215: Invalid client secret provided.",
            "k9 canary+/=&%\"é (almost: the emoji is missing)",
            "%ZZ %2 &#xZZ; &#99999999999; \\u12 \\uD83D",
            "",
        ] {
            assert_eq!(s.scrub(text), text);
        }
    }

    #[test]
    fn urls_lose_userinfo_query_values_and_fragments() {
        for (url, shown) in [
            (
                "https://login.microsoftonline.com/t/oauth2/v2.0/token",
                "https://login.microsoftonline.com/t/oauth2/v2.0/token",
            ),
            (
                "https://app:pw@idp.example:8443/t/token",
                "https://<redacted>@idp.example:8443/t/token",
            ),
            (
                "https://token@idp.example",
                "https://<redacted>@idp.example",
            ),
            (
                "https://idp.example/t?client_secret=s&&api-version=2#frag",
                "https://idp.example/t?client_secret=<redacted>&&api-version=<redacted>#<redacted>",
            ),
            (
                "https://idp.example/t?rawtoken",
                "https://idp.example/t?<redacted>",
            ),
            ("https://idp.example/a@b", "https://idp.example/a@b"),
            ("user:pw@idp.example/t", "<redacted>@idp.example/t"),
            (
                "https://a:p@ss@idp.example/",
                "https://<redacted>@idp.example/",
            ),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
