//! Java `java.util.regex` syntax, translated for Rust's `regex` crate where
//! the two agree and refused by name where they do not.

/// A Java regex construct that this crate cannot honour, and where it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{construct} at index {index} is a Java regex construct that is not supported \
     (no lookaround, backreferences, atomic groups, possessive quantifiers, \\G, \\R, \\X, \
     \\h, \\v, \\cX, octal escapes or the U and c flags); rewrite the pattern without it"
)]
pub struct JavaRegexError {
    /// The construct, e.g. `lookahead (?=…)`.
    pub construct: &'static str,
    /// Its position in the pattern, counted in characters from 0.
    pub index: usize,
}

/// Translates a Java regular expression into the syntax of the `regex`
/// crate.
///
/// Accepted as in Java: literals, `.`, classes (with nesting and `&&`
/// intersection), `\d \w \s \b \p{…}` and other escapes the two share,
/// groups, named groups `(?<name>…)`, non-capturing groups, greedy and lazy
/// quantifiers, anchors, and the `i m s x u` flags. Translated: `\Q…\E`
/// quoting, `\e` (escape character), `\Z` (topic names contain no line
/// terminator, so it is `\z`) and the `d` (UNIX_LINES) flag, which changes
/// nothing for topic names.
///
/// Refused with [`JavaRegexError`], because the `regex` crate has no
/// equivalent or gives the same text another meaning: lookahead and
/// lookbehind, backreferences (`\1`, `\k<name>`), atomic groups `(?>…)`,
/// possessive quantifiers (`*+`, `++`, `?+`, `{n}+`), `\G`, `\R`, `\X`,
/// `\h \H \v \V`, `\cX`, octal `\0…`, the `U` flag (Java's
/// UNICODE_CHARACTER_CLASS; swap-greed here) and the `c` flag (canonical
/// equivalence). Anything else the `regex` crate rejects is reported by it.
///
/// Java's `\w`, `\d` and case folding are ASCII-only where the `regex`
/// crate's are Unicode-aware; topic names are ASCII, so they match the same
/// names.
///
/// ```
/// use ferrokafka_streaming::java::translate_java_regex;
/// assert_eq!(translate_java_regex(r"orders\Q.v1\E").unwrap(), r"orders\.v1");
/// assert!(translate_java_regex("(?!internal).*").is_err());
/// ```
pub fn translate_java_regex(pattern: &str) -> Result<String, JavaRegexError> {
    Translator {
        chars: pattern.chars().collect(),
        at: 0,
        out: String::with_capacity(pattern.len()),
        class_depth: 0,
    }
    .run()
}

struct Translator {
    chars: Vec<char>,
    at: usize,
    out: String,
    class_depth: usize,
}

impl Translator {
    fn run(mut self) -> Result<String, JavaRegexError> {
        while let Some(c) = self.peek(0) {
            match c {
                '\\' => self.escape()?,
                '[' => {
                    self.class_depth += 1;
                    self.copy(1);
                }
                ']' if self.class_depth > 0 => {
                    self.class_depth -= 1;
                    self.copy(1);
                }
                '(' if self.class_depth == 0 => self.group()?,
                '*' | '+' | '?' if self.class_depth == 0 => {
                    self.copy(1);
                    self.quantifier_suffix()?;
                }
                '{' if self.class_depth == 0 => self.counted_repetition()?,
                _ => self.copy(1),
            }
        }
        Ok(self.out)
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn copy(&mut self, count: usize) {
        let end = (self.at + count).min(self.chars.len());
        self.out.extend(&self.chars[self.at..end]);
        self.at = end;
    }

    fn refuse(&self, construct: &'static str) -> JavaRegexError {
        JavaRegexError {
            construct,
            index: self.at,
        }
    }

    fn escape(&mut self) -> Result<(), JavaRegexError> {
        let Some(next) = self.peek(1) else {
            // A dangling backslash: let the regex crate report it.
            self.copy(1);
            return Ok(());
        };
        match next {
            'Q' => {
                let body_start = self.at + 2;
                let mut end = body_start;
                while end < self.chars.len()
                    && !(self.chars[end] == '\\' && self.chars.get(end + 1) == Some(&'E'))
                {
                    end += 1;
                }
                let literal: String = self.chars[body_start..end].iter().collect();
                self.out.push_str(&regex::escape(&literal));
                self.at = (end + 2).min(self.chars.len());
            }
            'e' => {
                self.out.push_str(r"\x1B");
                self.at += 2;
            }
            'Z' => {
                self.out.push_str(r"\z");
                self.at += 2;
            }
            '1'..='9' => return Err(self.refuse(r"a backreference \n")),
            'k' => return Err(self.refuse(r"a named backreference \k<name>")),
            'G' => return Err(self.refuse(r"\G (end of the previous match)")),
            'R' => return Err(self.refuse(r"\R (any linebreak)")),
            'X' => return Err(self.refuse(r"\X (a grapheme cluster)")),
            'h' | 'H' => return Err(self.refuse(r"\h or \H (horizontal whitespace)")),
            'v' | 'V' => return Err(self.refuse(r"\v or \V (vertical whitespace)")),
            'c' => return Err(self.refuse(r"\cX (a control character)")),
            '0' => return Err(self.refuse(r"an octal escape \0n (write \x{…} instead)")),
            _ => self.copy(2),
        }
        Ok(())
    }

    fn group(&mut self) -> Result<(), JavaRegexError> {
        if self.peek(1) != Some('?') {
            self.copy(1);
            return Ok(());
        }
        match (self.peek(2), self.peek(3)) {
            (Some('='), _) => return Err(self.refuse("a lookahead (?=…)")),
            (Some('!'), _) => return Err(self.refuse("a negative lookahead (?!…)")),
            (Some('<'), Some('=')) => return Err(self.refuse("a lookbehind (?<=…)")),
            (Some('<'), Some('!')) => return Err(self.refuse("a negative lookbehind (?<!…)")),
            (Some('>'), _) => return Err(self.refuse("an atomic group (?>…)")),
            (Some('<'), _) | (Some(':'), _) => {
                self.copy(3);
                return Ok(());
            }
            _ => {}
        }
        // Inline flags: (?idmsux-idmsux) or (?idmsux-idmsux:…).
        let flags_start = self.at + 2;
        let mut end = flags_start;
        while end < self.chars.len()
            && (self.chars[end].is_ascii_alphabetic() || self.chars[end] == '-')
        {
            end += 1;
        }
        let mut kept = String::new();
        for (offset, flag) in self.chars[flags_start..end].iter().enumerate() {
            match flag {
                'U' => {
                    return Err(JavaRegexError {
                        construct: "the U flag (Java's UNICODE_CHARACTER_CLASS)",
                        index: flags_start + offset,
                    })
                }
                'c' => {
                    return Err(JavaRegexError {
                        construct: "the c flag (canonical equivalence)",
                        index: flags_start + offset,
                    })
                }
                // UNIX_LINES only changes what a line terminator is.
                'd' => {}
                other => kept.push(*other),
            }
        }
        let closes_now = self.chars.get(end) == Some(&')');
        let kept_meaningful = kept.chars().any(|c| c != '-');
        if !kept_meaningful && closes_now {
            // "(?d)" alone: nothing left to say.
            self.at = end + 1;
        } else if !kept_meaningful {
            self.out.push_str("(?");
            self.at = end;
        } else {
            self.out.push_str("(?");
            self.out.push_str(&kept);
            self.at = end;
        }
        Ok(())
    }

    fn quantifier_suffix(&mut self) -> Result<(), JavaRegexError> {
        match self.peek(0) {
            Some('+') => Err(self.refuse("a possessive quantifier")),
            Some('?') => {
                self.copy(1);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn counted_repetition(&mut self) -> Result<(), JavaRegexError> {
        let mut end = self.at + 1;
        while end < self.chars.len() && (self.chars[end].is_ascii_digit() || self.chars[end] == ',')
        {
            end += 1;
        }
        if self.chars.get(end) == Some(&'}') {
            self.copy(end + 1 - self.at);
            self.quantifier_suffix()
        } else {
            self.copy(1);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn construct_of(pattern: &str) -> &'static str {
        translate_java_regex(pattern).unwrap_err().construct
    }

    #[test]
    fn shared_syntax_passes_unchanged() {
        for pattern in [
            "orders",
            "orders-.*",
            "^(orders|payments)\\.v[0-9]+$",
            "(?i)ORDERS",
            "(?<env>prod|dev)-events",
            "(?:a|b){2,3}?",
            "[a-z&&[^x]]+",
            "\\d\\w\\s\\.",
            "\\p{Alpha}*",
        ] {
            assert_eq!(translate_java_regex(pattern).unwrap(), pattern);
        }
    }

    #[test]
    fn java_only_syntax_is_translated() {
        assert_eq!(translate_java_regex(r"\Qa.b*\E-x").unwrap(), r"a\.b\*-x");
        assert_eq!(translate_java_regex(r"\Qa.b").unwrap(), r"a\.b");
        assert_eq!(translate_java_regex(r"t\Z").unwrap(), r"t\z");
        assert_eq!(translate_java_regex(r"\e").unwrap(), r"\x1B");
        assert_eq!(translate_java_regex("(?d)t").unwrap(), "t");
        assert_eq!(translate_java_regex("(?di)t").unwrap(), "(?i)t");
        assert_eq!(translate_java_regex("(?d:t)").unwrap(), "(?:t)");
    }

    #[test]
    fn unsupported_constructs_are_named_with_their_index() {
        assert_eq!(construct_of("a(?=b)"), "a lookahead (?=…)");
        assert_eq!(translate_java_regex("a(?=b)").unwrap_err().index, 1);
        assert_eq!(construct_of("(?!x)"), "a negative lookahead (?!…)");
        assert_eq!(construct_of("(?<=x)y"), "a lookbehind (?<=…)");
        assert_eq!(construct_of("(?<!x)y"), "a negative lookbehind (?<!…)");
        assert_eq!(construct_of("(?>x)"), "an atomic group (?>…)");
        assert_eq!(construct_of("(a)\\1"), r"a backreference \n");
        assert_eq!(
            construct_of("(?<n>a)\\k<n>"),
            r"a named backreference \k<name>"
        );
        assert_eq!(construct_of("a*+"), "a possessive quantifier");
        assert_eq!(construct_of("a{2}+"), "a possessive quantifier");
        assert_eq!(construct_of("\\Gx"), r"\G (end of the previous match)");
        assert_eq!(
            construct_of("(?U)\\w"),
            "the U flag (Java's UNICODE_CHARACTER_CLASS)"
        );
        let message = translate_java_regex("x(?=y)").unwrap_err().to_string();
        assert!(message.contains("at index 1"), "{message}");
    }

    #[test]
    fn metacharacters_inside_classes_are_literal() {
        assert_eq!(translate_java_regex("[*+?(]").unwrap(), "[*+?(]");
        assert_eq!(translate_java_regex("a++").unwrap_err().index, 2);
        assert_eq!(translate_java_regex("a+?").unwrap(), "a+?");
    }
}
