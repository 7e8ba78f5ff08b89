//! The key tables: one [`settings!`] list per section, from which each
//! key's constant, field, default, parser, getter, typed setter,
//! `to_properties` entry and [`KeyInfo`] (for docs, errors and
//! "did you mean") all come. Adding a key is one entry.

/// Which part of the configuration a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Section {
    /// Connections, metadata and retries: every client needs them.
    Connection,
    /// TLS (`ssl.*`) and SASL (`sasl.*`).
    Security,
    /// Reading: `fetch.*`, `isolation.level`, `auto.offset.reset`, `group.*`.
    Consumer,
    /// Producing: batching, compression, acknowledgements, idempotence.
    Producer,
}

impl Section {
    /// The section's name, as the docs head it.
    pub fn name(self) -> &'static str {
        match self {
            Section::Connection => "connection",
            Section::Security => "security",
            Section::Consumer => "consumer",
            Section::Producer => "producer",
        }
    }
}

/// What the table says about one key.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct KeyInfo {
    /// The Java property name.
    pub name: &'static str,
    /// The section it belongs to.
    pub section: Section,
    /// Its default as property text (empty: unset).
    pub default: &'static str,
    /// What it does.
    pub doc: &'static str,
    /// Whether it is accepted for compatibility with Java clients but
    /// changes nothing here.
    pub inert: bool,
    pub(crate) accepts: fn() -> String,
}

impl KeyInfo {
    /// The values it accepts, in words.
    pub fn accepts(&self) -> String {
        (self.accepts)()
    }
}

impl std::fmt::Debug for KeyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyInfo")
            .field("name", &self.name)
            .field("section", &self.section)
            .field("default", &self.default)
            .field("accepts", &self.accepts())
            .field("inert", &self.inert)
            .finish()
    }
}

/// Declares a section's keys. Each entry:
///
/// ```text
/// /// Doc text.
/// CONSTANT "java.name" => field: Kind = "default" pub(Type);
/// CONSTANT "java.name" => field: Kind = "default" pub(GetterType, SetterType);
/// CONSTANT "java.name" => field: Kind = "default" inner;
/// ```
///
/// `pub` entries get a getter on the outer settings type (reading the
/// values through its method `$get`) and a typed setter on its builder
/// (writing through `$get_mut`); `inner` entries are parsed, validated and shown
/// like the others but read only inside the crate (inert compatibility
/// keys, parts of derived settings).
macro_rules! settings {
    (
        $(#[$meta:meta])*
        values $Values:ident in $section:ident, keys $keys:ident;
        getters on $Outer:ty, via $get:ident;
        setters on $Builder:ty, via $get_mut:ident;
        $(
            $(#[doc = $doc:literal])*
            $CONST:ident $name:literal => $field:ident: $kind:ty = $default:literal
                $access:ident $(($($types:tt)*))?;
        )*
    ) => {
        /// The property names of this section.
        #[allow(unreachable_pub)] // re-exported by `config::keys`
        pub mod $keys {
            $(
                $(#[doc = $doc])*
                pub const $CONST: &str = $name;
            )*
        }

        $(#[$meta])*
        #[derive(Clone, PartialEq)]
        pub(crate) struct $Values {
            $(pub(crate) $field: <$kind as $crate::config::kinds::Kind>::Value,)*
        }

        impl Default for $Values {
            fn default() -> Self {
                $Values {
                    $($field: <$kind as $crate::config::kinds::Kind>::default_value($name, $default),)*
                }
            }
        }

        impl std::fmt::Debug for $Values {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // Through `show`, so secrets print redacted.
                let mut s = f.debug_struct(stringify!($Values));
                $(
                    if let Some(shown) = <$kind as $crate::config::kinds::Kind>::show(&self.$field) {
                        s.field($name, &shown);
                    }
                )*
                s.finish()
            }
        }

        impl $Values {
            /// The table of this section's keys.
            pub(crate) const KEYS: &'static [$crate::config::table::KeyInfo] = &[$(
                $crate::config::table::KeyInfo {
                    name: $name,
                    section: $crate::config::table::Section::$section,
                    default: $default,
                    doc: concat!($($doc, "\n"),*),
                    inert: <$kind as $crate::config::kinds::Kind>::INERT,
                    accepts: <$kind as $crate::config::kinds::Kind>::accepts,
                },
            )*];

            /// Sets one key from its property text; `Ok(false)` for a key
            /// of another section.
            pub(crate) fn set(
                &mut self,
                key: &str,
                raw: &str,
            ) -> Result<bool, $crate::config::ConfigError> {
                match key {
                    $($name => {
                        self.$field = <$kind as $crate::config::kinds::Kind>::parse($name, raw)?;
                    })*
                    _ => return Ok(false),
                }
                Ok(true)
            }

            /// Every set key as property text (secrets redacted).
            pub(crate) fn show(&self, out: &mut Vec<(&'static str, String)>) {
                $(
                    if let Some(shown) = <$kind as $crate::config::kinds::Kind>::show(&self.$field) {
                        out.push(($name, shown));
                    }
                )*
            }
        }

        $(
            settings!(@accessors $access ($($($types)*)?), $Outer, $get, $Builder, $get_mut,
                $name, $field, $kind, [$($doc)*], $default);
        )*
    };

    (@accessors inner (), $($rest:tt)*) => {};
    (@accessors pub ($T:ty), $($rest:tt)*) => {
        settings!(@accessors pub ($T, $T), $($rest)*);
    };
    (@accessors pub ($Out:ty, $In:ty), $Outer:ty, $get:ident, $Builder:ty, $get_mut:ident,
        $name:literal, $field:ident, $kind:ty, [$($doc:literal)*], $default:literal) => {
        impl $Outer {
            #[doc = concat!("`", $name, "`: ")]
            $(#[doc = $doc])*
            #[doc = ""]
            #[doc = concat!("Default: `", $default, "`.")]
            pub fn $field(&self) -> $Out {
                <$kind as $crate::config::kinds::Kind>::out(&self.$get().$field)
            }
        }
        impl $Builder {
            #[doc = concat!("Sets `", $name, "`: ")]
            $(#[doc = $doc])*
            #[doc = ""]
            #[doc = "A value out of range is reported by `build`."]
            #[allow(clippy::useless_conversion)] // `$In` may be `impl Into<…>`
            pub fn $field(
                mut self,
                value: $In,
            ) -> Self {
                match <$kind as $crate::config::kinds::Kind>::accept($name, value.into()) {
                    Ok(v) => self.$get_mut().$field = v,
                    Err(e) => {
                        self.error.get_or_insert(e);
                    }
                }
                self
            }
        }
    };
}
