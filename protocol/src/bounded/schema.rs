//! The static description of a request or response body's wire layout.
//!
//! A [`Message`] names the request or response, the version from which it is
//! "flexible" (compact lengths and a tagged-field section after every
//! struct) and its root [`Struct`]. A struct is an ordered list of
//! [`Field`]s, each valid for an inclusive version range, plus the tagged
//! fields that `kafka-protocol` decodes into typed values.
//!
//! The tables are written with the `structs!` and `message!` macros:
//!
//! ```text
//! structs! {
//!     struct PARTITION_DATA = "PartitionData" {
//!         partition_index: i32,
//!         log_start_offset: i64 [5..],          // versions 5 and up
//!         aborted_transactions: [ABORTED_TXN],   // array of a struct
//!         cluster_authorized_operations: i32 [8..=10],
//!         records: records,
//!     } tagged {
//!         0 => diverging_epoch: EPOCH_END_OFFSET [12..],
//!     }
//! }
//! ```
//!
//! Types: `i8 i16 u16 i32 i64 f64 bool uuid string bytes records`, an
//! upper-case name for a nested struct, and `[T]` for an array of `T`.
//! Strings, bytes and arrays use the compact encoding (unsigned varint
//! length + 1) in flexible versions and the classic one (i16 / i32 length,
//! i32 count) before.

/// A value whose wire form does not contain other values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scalar {
    /// One signed byte.
    I8,
    /// Two bytes, big endian.
    I16,
    /// Two bytes, big endian, unsigned.
    #[allow(
        dead_code,
        reason = "part of the DSL; no message covered today has one"
    )]
    U16,
    /// Four bytes, big endian.
    I32,
    /// Eight bytes, big endian.
    I64,
    /// An IEEE 754 double, eight bytes.
    #[allow(
        dead_code,
        reason = "part of the DSL; no message covered today has one"
    )]
    F64,
    /// One byte.
    Bool,
    /// Sixteen bytes.
    Uuid,
    /// A (nullable) UTF-8 string: i16 length, or compact varint length + 1.
    String,
    /// A (nullable) byte string: i32 length, or compact varint length + 1.
    Bytes,
    /// A record set: on the wire the same as nullable [`Scalar::Bytes`].
    Records,
}

impl Scalar {
    /// The wire size of fixed-size scalars, `None` for length-prefixed ones.
    pub(crate) const fn fixed_size(self) -> Option<usize> {
        match self {
            Scalar::I8 | Scalar::Bool => Some(1),
            Scalar::I16 | Scalar::U16 => Some(2),
            Scalar::I32 => Some(4),
            Scalar::I64 | Scalar::F64 => Some(8),
            Scalar::Uuid => Some(16),
            Scalar::String | Scalar::Bytes | Scalar::Records => None,
        }
    }
}

/// The element type of an array.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Elem {
    /// An array of scalars (e.g. broker ids, mechanism names).
    Scalar(Scalar),
    /// An array of structs.
    Struct(&'static Struct),
}

/// The type of a field.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ty {
    /// A scalar.
    Scalar(Scalar),
    /// A struct embedded in place (used by tagged fields).
    Struct(&'static Struct),
    /// A (nullable) array: i32 count, or compact varint count + 1.
    Array(Elem),
}

/// A field of a struct, present on the wire for versions `min..=max`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    /// The field's name as `kafka-protocol` spells it, used in error paths.
    pub(crate) name: &'static str,
    /// The wire type.
    pub(crate) ty: Ty,
    /// The first version with this field.
    pub(crate) min: i16,
    /// The last version with this field.
    pub(crate) max: i16,
}

impl Field {
    /// Whether the field is on the wire at `version`.
    pub(crate) const fn present_in(&self, version: i16) -> bool {
        self.min <= version && version <= self.max
    }
}

/// A tagged field that `kafka-protocol` decodes into a typed value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tagged {
    /// The tag number on the wire.
    pub(crate) tag: u32,
    /// The field: its name, its type and the versions that may carry it.
    pub(crate) field: Field,
}

/// A struct: ordered fields, then (in flexible versions) a tagged-field
/// section in which the tags listed here have a known layout.
#[derive(Debug)]
pub(crate) struct Struct {
    /// `kafka-protocol`'s type name, for readers of the tables and `Debug`.
    #[allow(dead_code, reason = "documents the table; shown by Debug")]
    pub(crate) name: &'static str,
    /// The fields in wire order.
    pub(crate) fields: &'static [Field],
    /// Tags with a known layout; other tags are skipped by size.
    pub(crate) tagged: &'static [Tagged],
}

/// A request or response body.
#[derive(Debug)]
pub(crate) struct Message {
    /// `kafka-protocol`'s type name, used at the head of error paths.
    pub(crate) name: &'static str,
    /// The first flexible version (`i16::MAX` if it never is).
    pub(crate) flexible_from: i16,
    /// The top-level struct.
    pub(crate) root: &'static Struct,
}

/// Expands a version range written as `[5..]`, `[..=7]`, `[8..=10]` or
/// nothing (all versions) to `(min, max)`.
macro_rules! versions {
    () => {
        (0, i16::MAX)
    };
    ($min:literal ..) => {
        ($min, i16::MAX)
    };
    (..= $max:literal) => {
        (0, $max)
    };
    ($min:literal ..= $max:literal) => {
        ($min, $max)
    };
}

/// Expands a type written in the table DSL to a [`Ty`].
macro_rules! ty {
    ([$elem:tt]) => {
        $crate::bounded::schema::Ty::Array(elem!($elem))
    };
    ($t:tt) => {
        match elem!($t) {
            $crate::bounded::schema::Elem::Scalar(s) => $crate::bounded::schema::Ty::Scalar(s),
            $crate::bounded::schema::Elem::Struct(s) => $crate::bounded::schema::Ty::Struct(s),
        }
    };
}

/// Expands a non-array type written in the table DSL to an [`Elem`].
macro_rules! elem {
    (i8) => {
        $crate::bounded::schema::Elem::Scalar($crate::bounded::schema::Scalar::I8)
    };
    (i16) => {
        $crate::bounded::schema::Elem::Scalar($crate::bounded::schema::Scalar::I16)
    };
    (u16) => {
        $crate::bounded::schema::Elem::Scalar($crate::bounded::schema::Scalar::U16)
    };
    (i32) => {
        $crate::bounded::schema::Elem::Scalar($crate::bounded::schema::Scalar::I32)
    };
    (i64) => {
        $crate::bounded::schema::Elem::Scalar($crate::bounded::schema::Scalar::I64)
    };
    (f64) => {
        $crate::bounded::schema::Elem::Scalar($crate::bounded::schema::Scalar::F64)
    };
    (bool) => {
        $crate::bounded::schema::Elem::Scalar($crate::bounded::schema::Scalar::Bool)
    };
    (uuid) => {
        $crate::bounded::schema::Elem::Scalar($crate::bounded::schema::Scalar::Uuid)
    };
    (string) => {
        $crate::bounded::schema::Elem::Scalar($crate::bounded::schema::Scalar::String)
    };
    (bytes) => {
        $crate::bounded::schema::Elem::Scalar($crate::bounded::schema::Scalar::Bytes)
    };
    (records) => {
        $crate::bounded::schema::Elem::Scalar($crate::bounded::schema::Scalar::Records)
    };
    ($s:ident) => {
        $crate::bounded::schema::Elem::Struct(&$s)
    };
}

/// Expands one field of the table DSL to a [`Field`].
macro_rules! field {
    ($name:ident : $t:tt $([$($v:tt)*])?) => {{
        let (min, max) = versions!($($($v)*)?);
        $crate::bounded::schema::Field {
            name: stringify!($name),
            ty: ty!($t),
            min,
            max,
        }
    }};
}

/// Declares `static` struct schemas; see the module documentation.
macro_rules! structs {
    ($(
        struct $ident:ident = $name:literal {
            $($fname:ident : $fty:tt $([$($fv:tt)*])?),* $(,)?
        } $(tagged {
            $($tag:literal => $tname:ident : $tty:tt $([$($tv:tt)*])?),* $(,)?
        })?
    )*) => {$(
        pub(crate) static $ident: $crate::bounded::schema::Struct =
            $crate::bounded::schema::Struct {
                name: $name,
                fields: &[$(field!($fname : $fty $([$($fv)*])?)),*],
                tagged: &[$($($crate::bounded::schema::Tagged {
                    tag: $tag,
                    field: field!($tname : $tty $([$($tv)*])?),
                }),*)?],
            };
    )*};
}

/// Declares a `static` [`Message`].
macro_rules! message {
    ($ident:ident = $name:literal, flexible from $flex:expr, root $root:ident) => {
        pub(crate) static $ident: $crate::bounded::schema::Message =
            $crate::bounded::schema::Message {
                name: $name,
                flexible_from: $flex,
                root: &$root,
            };
    };
}
