//! Field types that never fail on a wrong JSON type.
//!
//! A transcript line is a record if it is a JSON object, whatever its fields
//! hold. These wrappers accept any JSON value: the expected type becomes
//! `Got`, anything else is consumed and becomes `WrongType`, so one odd field
//! never turns a valid object into a malformed line (the ingester warns about
//! it instead).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A field as it was found in the line.
#[derive(Debug, Default, Clone, PartialEq)]
pub enum Field<T> {
    /// The key was absent.
    #[default]
    Missing,
    /// The value was JSON `null`.
    Null,
    /// The value had the expected type.
    Got(T),
    /// The value had another type; it was skipped.
    WrongType,
}

impl<T> Field<T> {
    pub fn get(self) -> Option<T> {
        match self {
            Field::Got(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_ref(&self) -> Option<&T> {
        match self {
            Field::Got(v) => Some(v),
            _ => None,
        }
    }

    pub fn is_wrong(&self) -> bool {
        matches!(self, Field::WrongType)
    }
}

macro_rules! null_is_null {
    ($t:ty) => {
        fn visit_unit<E: de::Error>(self) -> Result<Field<$t>, E> {
            Ok(Field::Null)
        }
        fn visit_none<E: de::Error>(self) -> Result<Field<$t>, E> {
            Ok(Field::Null)
        }
    };
}

/// A string, borrowed from the line when it holds no escapes.
pub type Str<'a> = Field<Cow<'a, str>>;

impl<'de: 'a, 'a> Deserialize<'de> for Field<Cow<'a, str>> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Field<Cow<'a, str>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Field::Got(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Field::Got(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Field::Got(Cow::Owned(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::WrongType)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::WrongType)
            }
            null_is_null!(Cow<'a, str>);
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Field<bool> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Field<bool>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Field::Got(v))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::WrongType)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::WrongType)
            }
            null_is_null!(bool);
        }
        d.deserialize_any(V)
    }
}

/// A JSON number, kept as it came so each caller applies its own rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    U(u64),
    I(i64),
    F(f64),
}

impl Num {
    /// The token-count rule: a number above 0 counts as its integer part
    /// (truncated, saturating); zero, negatives and NaN count as 0.
    pub fn count(self) -> u64 {
        match self {
            Num::U(v) => v,
            Num::I(v) => v.max(0) as u64,
            Num::F(v) if v > 0.0 => v as u64,
            Num::F(_) => 0,
        }
    }

    /// A signed integer (durations, exit codes); fractions are truncated.
    pub fn int(self) -> i64 {
        match self {
            Num::U(v) => i64::try_from(v).unwrap_or(i64::MAX),
            Num::I(v) => v,
            Num::F(v) => v as i64,
        }
    }
}

impl<'de> Deserialize<'de> for Field<Num> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Field<Num>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Field::Got(Num::I(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Field::Got(Num::U(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Field::Got(Num::F(v)))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::WrongType)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Field::WrongType)
            }
            null_is_null!(Num);
        }
        d.deserialize_any(V)
    }
}

/// An object decoded as `T` (whose own fields are lenient), or any other
/// value skipped.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Obj<T>(pub Field<T>);

impl<T> Obj<T> {
    pub fn into_inner(self) -> Option<T> {
        self.0.get()
    }
    pub fn is_wrong(&self) -> bool {
        self.0.is_wrong()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Field<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Field::Got)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Field::WrongType)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Field::WrongType)
            }
            null_is_null!(T);
        }
        d.deserialize_any(V(PhantomData)).map(Obj)
    }
}

/// An array of `T` (each element lenient in its own way), or any other value
/// skipped.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct List<T>(pub Field<Vec<T>>);

impl<T> List<T> {
    pub fn items(&self) -> &[T] {
        self.0.as_ref().map(Vec::as_slice).unwrap_or(&[])
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Field<Vec<T>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<T>()? {
                    out.push(item);
                }
                Ok(Field::Got(out))
            }
            null_is_null!(Vec<T>);
            skip_other_types_no_seq!(Vec<T>);
        }
        d.deserialize_any(V(PhantomData)).map(List)
    }
}

macro_rules! skip_other_types_no_seq {
    ($t:ty) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field<$t>, E> {
            Ok(Field::WrongType)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Field<$t>, E> {
            Ok(Field::WrongType)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Field<$t>, E> {
            Ok(Field::WrongType)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Field<$t>, E> {
            Ok(Field::WrongType)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Field<$t>, E> {
            Ok(Field::WrongType)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Field<$t>, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Field::WrongType)
        }
    };
}
use skip_other_types_no_seq;

/// Counts the keys of an object without decoding them: `cache_creation` is
/// only authoritative when it is a non-empty object.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct KeyCount(pub usize);

impl<'de> Deserialize<'de> for KeyCount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyCountVisitor)
    }
}

struct KeyCountVisitor;
impl<'de> Visitor<'de> for KeyCountVisitor {
    type Value = KeyCount;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeyCount, A::Error> {
        let mut n = 0;
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(KeyCount(n))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<KeyCount, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(KeyCount(0))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<KeyCount, E> {
        Ok(KeyCount(0))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<KeyCount, E> {
        Ok(KeyCount(0))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<KeyCount, E> {
        Ok(KeyCount(0))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<KeyCount, E> {
        Ok(KeyCount(0))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<KeyCount, E> {
        Ok(KeyCount(0))
    }
    fn visit_unit<E: de::Error>(self) -> Result<KeyCount, E> {
        Ok(KeyCount(0))
    }
}

/// The length in bytes of any JSON value's text, and its kind, without
/// allocating it (used for content we only measure).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Measured {
    pub bytes: usize,
}

impl<'de> Deserialize<'de> for Measured {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Measured;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Measured, E> {
                Ok(Measured { bytes: v.len() })
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Measured, E> {
                Ok(Measured::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Measured, E> {
                Ok(Measured::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Measured, E> {
                Ok(Measured::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Measured, E> {
                Ok(Measured::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Measured, E> {
                Ok(Measured::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Measured, A::Error> {
                let mut bytes = 0;
                while let Some(m) = seq.next_element::<Measured>()? {
                    bytes += m.bytes;
                }
                Ok(Measured { bytes })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Measured, A::Error> {
                let mut bytes = 0;
                while let Some((_, m)) = map.next_entry::<IgnoredAny, Measured>()? {
                    bytes += m.bytes;
                }
                Ok(Measured { bytes })
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Default)]
    #[serde(default)]
    struct T<'a> {
        #[serde(borrow)]
        s: Str<'a>,
        n: Field<Num>,
        b: Field<bool>,
        o: Obj<Inner>,
        l: List<Field<Num>>,
    }
    #[derive(Deserialize, Default, Debug, PartialEq)]
    #[serde(default)]
    struct Inner {
        x: Field<Num>,
    }

    #[test]
    fn every_field_accepts_every_type() {
        let cases = [
            r#"{"s":1,"n":"5","b":"yes","o":[1],"l":{"a":1}}"#,
            r#"{"s":{"a":[1,{"b":2}]},"n":[1],"b":3.5,"o":"x","l":"x"}"#,
            r#"{"s":true,"n":{"z":1},"b":{},"o":7,"l":7}"#,
        ];
        for c in cases {
            let t: T = serde_json::from_str(c).expect(c);
            assert!(t.s.is_wrong() && t.n.is_wrong() && t.b.is_wrong(), "{c}");
            assert!(t.o.is_wrong() && t.l.0.is_wrong(), "{c}");
        }
    }

    #[test]
    fn expected_types_are_kept() {
        let t: T = serde_json::from_str(
            r#"{"s":"a\"b","n":-3,"b":true,"o":{"x":2.9,"y":"ignored"},"l":[1,"x",3]}"#,
        )
        .unwrap();
        assert_eq!(t.s.get().as_deref(), Some("a\"b"));
        assert_eq!(t.n, Field::Got(Num::I(-3)));
        assert_eq!(t.b, Field::Got(true));
        assert_eq!(t.o.0.as_ref().unwrap().x, Field::Got(Num::F(2.9)));
        assert_eq!(t.l.items().len(), 3);
        assert!(t.l.items()[1].is_wrong());
    }

    #[test]
    fn nulls_and_missing_are_told_apart() {
        let t: T = serde_json::from_str(r#"{"s":null}"#).unwrap();
        assert_eq!(t.s, Field::Null);
        assert_eq!(t.n, Field::Missing);
    }

    #[test]
    fn count_rule() {
        assert_eq!(Num::F(12.9).count(), 12);
        assert_eq!(Num::F(-1.0).count(), 0);
        assert_eq!(Num::I(-5).count(), 0);
        assert_eq!(Num::U(7).count(), 7);
        assert_eq!(Num::F(1e30).count(), u64::MAX);
        assert_eq!(Num::F(f64::NAN).count(), 0);
    }
}
