//! Walks a request or response body against its [`Message`] schema
//! without allocating for anything the body declares.
//!
//! Every length and count is compared with the bytes left before it is
//! used: a string or byte string may not be longer than what is left, and
//! an array may not declare more elements than what is left could hold
//! at the minimum wire size of one element. Tagged fields with a known
//! layout must fill their declared size exactly, because `kafka-protocol`
//! decodes them from the main buffer without looking at that size.
//!
//! The only allocation is the path stack used for error messages, whose
//! depth is bounded by the (static) schema nesting.

use super::error::{Malformation, WalkError};
use super::schema::{Elem, Field, Message, Scalar, Struct, Ty};

/// One step of the path from the top-level struct to the current value.
#[derive(Debug, Clone, Copy)]
enum Seg {
    /// A named field.
    Field(&'static str),
    /// An array element.
    Index(usize),
    /// A tagged field without a known layout.
    UnknownTag(u32),
    /// The tagged-field section of the current struct.
    TagSection,
}

/// Renders a path like `topics[3].partitions`.
fn render(path: &[Seg]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Field(name) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(name);
            }
            Seg::Index(i) => {
                let _ = write!(out, "[{i}]");
            }
            Seg::UnknownTag(tag) => {
                if !out.is_empty() {
                    out.push('.');
                }
                let _ = write!(out, "<tag {tag}>");
            }
            Seg::TagSection => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str("<tagged fields>");
            }
        }
    }
    if out.is_empty() {
        out.push_str("<body>");
    }
    out
}

/// The bytes and the read position, plus what is needed for diagnostics.
struct Walker<'a> {
    buf: &'a [u8],
    pos: usize,
    /// The end of the current window: the body, or a tagged field's payload.
    end: usize,
    version: i16,
    flexible: bool,
    message: &'static Message,
    path: Vec<Seg>,
}

type Step = Result<(), WalkError>;

/// Checks that `body` starts with a well-formed `message` at `version`,
/// with every length and count within the bytes left, and returns where
/// the message ends (after its last field). What follows is not looked at.
pub(crate) fn walk(
    message: &'static Message,
    version: i16,
    body: &[u8],
) -> Result<usize, WalkError> {
    let mut w = Walker {
        buf: body,
        pos: 0,
        end: body.len(),
        version,
        flexible: version >= message.flexible_from,
        message,
        path: Vec::with_capacity(16),
    };
    w.walk_struct(message.root)?;
    Ok(w.pos)
}

impl Walker<'_> {
    fn fail(&self, offset: usize, reason: Malformation) -> WalkError {
        WalkError {
            api: self.message.name,
            version: self.version,
            path: render(&self.path),
            offset,
            reason,
        }
    }

    fn remaining(&self) -> usize {
        self.end.saturating_sub(self.pos)
    }

    /// Advances over `n` bytes, which must be inside the current window.
    fn skip(&mut self, n: usize, at: usize) -> Step {
        let available = self.remaining();
        if n > available {
            return Err(self.fail(
                at,
                Malformation::Truncated {
                    needed: n,
                    available,
                },
            ));
        }
        self.pos += n;
        Ok(())
    }

    /// Reads `N` bytes.
    fn array<const N: usize>(&mut self) -> Result<[u8; N], WalkError> {
        let at = self.pos;
        let bytes = self
            .buf
            .get(at..self.end)
            .and_then(|rest| rest.get(..N))
            .and_then(|b| <[u8; N]>::try_from(b).ok());
        match bytes {
            Some(b) => {
                self.pos += N;
                Ok(b)
            }
            None => Err(self.fail(
                at,
                Malformation::Truncated {
                    needed: N,
                    available: self.remaining(),
                },
            )),
        }
    }

    fn i16(&mut self) -> Result<i16, WalkError> {
        self.array::<2>().map(i16::from_be_bytes)
    }

    fn i32(&mut self) -> Result<i32, WalkError> {
        self.array::<4>().map(i32::from_be_bytes)
    }

    /// Reads an unsigned varint of at most 5 bytes whose value fits in a
    /// `u32`; anything else is rejected so that `kafka-protocol` (which
    /// stops after 5 bytes and drops high bits) reads the same value.
    fn uvarint(&mut self) -> Result<u32, WalkError> {
        let at = self.pos;
        let mut value: u32 = 0;
        for i in 0..5u32 {
            let [b] = self.array::<1>().map_err(|_| {
                self.fail(
                    at,
                    Malformation::Truncated {
                        needed: (i as usize) + 1,
                        available: i as usize,
                    },
                )
            })?;
            if i == 4 && b > 0x0f {
                return Err(self.fail(at, Malformation::InvalidVarint));
            }
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.fail(at, Malformation::InvalidVarint))
    }

    /// Reads a length or count prefix. `Ok(None)` is the null marker.
    /// `classic_i16` selects the 2-byte prefix of non-compact strings.
    fn length(&mut self, classic_i16: bool) -> Result<Option<usize>, WalkError> {
        let at = self.pos;
        if self.flexible {
            let n = self.uvarint()?;
            Ok(n.checked_sub(1).map(|n| n as usize))
        } else {
            let n = if classic_i16 {
                i32::from(self.i16()?)
            } else {
                self.i32()?
            };
            match n {
                -1 => Ok(None),
                n if n < -1 => Err(self.fail(at, Malformation::NegativeLength { length: n })),
                n => Ok(Some(n.unsigned_abs() as usize)),
            }
        }
    }

    fn walk_struct(&mut self, s: &'static Struct) -> Step {
        for field in s.fields {
            if field.present_in(self.version) {
                self.path.push(Seg::Field(field.name));
                self.walk_ty(field.ty)?;
                self.path.pop();
            }
        }
        if self.flexible {
            self.walk_tagged(s)?;
        }
        Ok(())
    }

    fn walk_ty(&mut self, ty: Ty) -> Step {
        match ty {
            Ty::Scalar(s) => self.walk_scalar(s),
            Ty::Struct(s) => self.walk_struct(s),
            Ty::Array(elem) => self.walk_array(elem),
        }
    }

    fn walk_elem(&mut self, elem: Elem) -> Step {
        match elem {
            Elem::Scalar(s) => self.walk_scalar(s),
            Elem::Struct(s) => self.walk_struct(s),
        }
    }

    fn walk_scalar(&mut self, s: Scalar) -> Step {
        let at = self.pos;
        if let Some(n) = s.fixed_size() {
            return self.skip(n, at);
        }
        let is_string = s == Scalar::String;
        let Some(len) = self.length(is_string)? else {
            return Ok(());
        };
        let remaining = self.remaining();
        if len > remaining {
            return Err(self.fail(
                at,
                Malformation::LengthExceedsRemaining {
                    length: len,
                    remaining,
                },
            ));
        }
        let start = self.pos;
        self.pos += len;
        if is_string {
            let valid = self
                .buf
                .get(start..self.pos)
                .is_some_and(|b| std::str::from_utf8(b).is_ok());
            if !valid {
                return Err(self.fail(at, Malformation::InvalidUtf8));
            }
        }
        Ok(())
    }

    fn walk_array(&mut self, elem: Elem) -> Step {
        let at = self.pos;
        let Some(count) = self.length(false)? else {
            return Ok(());
        };
        let min = self.min_elem_size(elem).max(1);
        let remaining = self.remaining();
        if count > remaining / min {
            return Err(self.fail(
                at,
                Malformation::CountExceedsRemaining {
                    count,
                    min_element_size: min,
                    remaining,
                },
            ));
        }
        for i in 0..count {
            self.path.push(Seg::Index(i));
            self.walk_elem(elem)?;
            self.path.pop();
        }
        Ok(())
    }

    fn walk_tagged(&mut self, s: &'static Struct) -> Step {
        self.path.push(Seg::TagSection);
        let at = self.pos;
        let count = self.uvarint()? as usize;
        let remaining = self.remaining();
        // A tagged field is at least a 1-byte tag and a 1-byte size.
        if count > remaining / 2 {
            return Err(self.fail(
                at,
                Malformation::CountExceedsRemaining {
                    count,
                    min_element_size: 2,
                    remaining,
                },
            ));
        }
        self.path.pop();
        for _ in 0..count {
            let tag_at = self.pos;
            self.path.push(Seg::TagSection);
            let tag = self.uvarint()?;
            let size = self.uvarint()? as usize;
            let remaining = self.remaining();
            if size > remaining {
                self.path.pop();
                self.path.push(Seg::UnknownTag(tag));
                return Err(self.fail(
                    tag_at,
                    Malformation::LengthExceedsRemaining {
                        length: size,
                        remaining,
                    },
                ));
            }
            self.path.pop();
            match s.tagged.iter().find(|t| t.tag == tag) {
                None => {
                    self.pos += size;
                }
                Some(known) => self.walk_known_tag(tag, tag_at, size, &known.field)?,
            }
        }
        Ok(())
    }

    /// Validates a known tagged field's payload within exactly `size` bytes.
    fn walk_known_tag(&mut self, tag: u32, tag_at: usize, size: usize, field: &Field) -> Step {
        self.path.push(Seg::Field(field.name));
        if !field.present_in(self.version) {
            return Err(self.fail(tag_at, Malformation::TagNotValidForVersion { tag }));
        }
        let outer_end = self.end;
        let start = self.pos;
        // `size <= remaining` was checked, so this cannot pass `outer_end`.
        self.end = start + size;
        let result = self.walk_ty(field.ty);
        let consumed = self.pos - start;
        self.end = outer_end;
        result?;
        if consumed != size {
            return Err(self.fail(
                tag_at,
                Malformation::TaggedFieldSizeMismatch {
                    tag,
                    declared: size,
                    consumed,
                },
            ));
        }
        self.path.pop();
        Ok(())
    }

    /// The fewest bytes one element can take at this version.
    fn min_elem_size(&self, elem: Elem) -> usize {
        match elem {
            Elem::Scalar(s) => self.min_scalar_size(s),
            Elem::Struct(s) => self.min_struct_size(s),
        }
    }

    fn min_scalar_size(&self, s: Scalar) -> usize {
        match (s.fixed_size(), self.flexible) {
            (Some(n), _) => n,
            (None, true) => 1,
            (None, false) if s == Scalar::String => 2,
            (None, false) => 4,
        }
    }

    fn min_struct_size(&self, s: &'static Struct) -> usize {
        let fields = s
            .fields
            .iter()
            .filter(|f| f.present_in(self.version))
            .fold(0usize, |acc, f| acc.saturating_add(self.min_ty_size(f.ty)));
        fields.saturating_add(usize::from(self.flexible))
    }

    fn min_ty_size(&self, ty: Ty) -> usize {
        match ty {
            Ty::Scalar(s) => self.min_scalar_size(s),
            Ty::Struct(s) => self.min_struct_size(s),
            Ty::Array(_) if self.flexible => 1,
            Ty::Array(_) => 4,
        }
    }
}
