//! `Params`: the strategy's parameters (from its manifest), read with types and defaults.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::ops::RangeBounds;

/// One parameter value as the host sends it.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Integer(i64),
    Float(f64),
    Text(String),
    Boolean(bool),
}

impl ParamValue {
    fn describe(&self) -> String {
        match self {
            ParamValue::Integer(v) => format!("integer {v}"),
            ParamValue::Float(v) => format!("float {v}"),
            ParamValue::Text(v) => format!("text {v:?}"),
            ParamValue::Boolean(v) => format!("boolean {v}"),
        }
    }
}

macro_rules! param_value_from {
    ($($ty:ty => $variant:ident),* $(,)?) => {$(
        impl From<$ty> for ParamValue {
            fn from(v: $ty) -> Self {
                ParamValue::$variant(v.into())
            }
        }
    )*};
}

param_value_from! {
    i64 => Integer, i32 => Integer, u32 => Integer,
    f64 => Float, bool => Boolean, String => Text, &str => Text,
}

/// A refused parameter set: which parameter (if one is at fault) and why.
/// Returned from [`Strategy::init`](crate::Strategy::init); the host does not load the
/// strategy and reports both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    pub param: Option<String>,
    pub message: String,
}

impl ParamError {
    /// `param` has a value the strategy refuses (`"must be at least 2"`).
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        Self {
            param: Some(param.to_owned()),
            message: message.into(),
        }
    }

    /// The parameter set as a whole is refused.
    pub fn general(message: impl Into<String>) -> Self {
        Self {
            param: None,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.param {
            Some(p) => write!(f, "parameter `{p}`: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ParamError {}

/// A Rust type a parameter can be read as.
///
/// Integers convert to any integer type they fit; an integer is accepted where a float is
/// asked; text and booleans only convert to `String` and `bool`. Nothing else converts.
pub trait FromParam: Sized {
    /// How the expected type reads in an error ("an unsigned integer (usize)").
    const EXPECTED: &'static str;
    fn from_param(value: &ParamValue) -> Option<Self>;
}

macro_rules! int_param {
    ($($ty:ty => $what:literal),* $(,)?) => {$(
        impl FromParam for $ty {
            const EXPECTED: &'static str = $what;
            fn from_param(value: &ParamValue) -> Option<Self> {
                match value {
                    ParamValue::Integer(v) => <$ty>::try_from(*v).ok(),
                    _ => None,
                }
            }
        }
    )*};
}

int_param! {
    i64 => "an integer (i64)",
    i32 => "an integer (i32)",
    u64 => "a non-negative integer (u64)",
    u32 => "a non-negative integer (u32)",
    usize => "a non-negative integer (usize)",
}

impl FromParam for f64 {
    const EXPECTED: &'static str = "a number (f64)";
    fn from_param(value: &ParamValue) -> Option<Self> {
        match value {
            ParamValue::Float(v) => Some(*v),
            ParamValue::Integer(v) => Some(*v as f64),
            _ => None,
        }
    }
}

impl FromParam for bool {
    const EXPECTED: &'static str = "a boolean";
    fn from_param(value: &ParamValue) -> Option<Self> {
        match value {
            ParamValue::Boolean(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromParam for String {
    const EXPECTED: &'static str = "text";
    fn from_param(value: &ParamValue) -> Option<Self> {
        match value {
            ParamValue::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    value: ParamValue,
    read: Cell<bool>,
}

/// The parameters a strategy is started with, by name.
///
/// Every parameter the host sends must be read during `init` (with any getter): a
/// parameter nobody reads is refused as unknown, so a typo in a manifest (`lokback`)
/// stops the load instead of silently using a default.
///
/// ```
/// use alpha_panda_sdk::Params;
/// let p = Params::new().with("lookback", 5).with("threshold", 1);
/// assert_eq!(p.get_or("lookback", 20usize), Ok(5));
/// assert_eq!(p.get::<f64>("threshold"), Ok(1.0)); // an integer is a valid float
/// assert!(p.get::<f64>("missing").is_err());
/// assert_eq!(p.get_or("missing", 0.5), Ok(0.5));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Params {
    entries: Vec<Entry>,
    /// Every name a getter asked for, given or not (for the "unknown parameter" message).
    asked: RefCell<Vec<String>>,
}

impl Params {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) one parameter; for tests.
    pub fn with(mut self, name: &str, value: impl Into<ParamValue>) -> Self {
        self.entries.retain(|e| e.name != name);
        self.entries.push(Entry {
            name: name.to_owned(),
            value: value.into(),
            read: Cell::new(false),
        });
        self
    }

    /// Builds the set from name/value pairs; a name given twice is refused.
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (String, ParamValue)>,
    ) -> Result<Self, ParamError> {
        let mut entries: Vec<Entry> = Vec::new();
        for (name, value) in pairs {
            if entries.iter().any(|e| e.name == name) {
                return Err(ParamError::invalid(&name, "given more than once"));
            }
            entries.push(Entry {
                name,
                value,
                read: Cell::new(false),
            });
        }
        Ok(Self {
            entries,
            asked: RefCell::default(),
        })
    }

    /// The raw value, if the parameter was given.
    pub fn raw(&self, name: &str) -> Option<&ParamValue> {
        let mut asked = self.asked.borrow_mut();
        if !asked.iter().any(|n| n == name) {
            asked.push(name.to_owned());
        }
        drop(asked);
        let entry = self.entries.iter().find(|e| e.name == name)?;
        entry.read.set(true);
        Some(&entry.value)
    }

    /// The parameter as `T`, or `None` if it was not given.
    pub fn get_opt<T: FromParam>(&self, name: &str) -> Result<Option<T>, ParamError> {
        match self.raw(name) {
            None => Ok(None),
            Some(value) => T::from_param(value).map(Some).ok_or_else(|| {
                ParamError::invalid(
                    name,
                    format!("expected {}, found {}", T::EXPECTED, value.describe()),
                )
            }),
        }
    }

    /// The parameter as `T`; an error if it is missing or of another type.
    pub fn get<T: FromParam>(&self, name: &str) -> Result<T, ParamError> {
        self.get_opt(name)?
            .ok_or_else(|| ParamError::invalid(name, format!("missing (expected {})", T::EXPECTED)))
    }

    /// The parameter as `T`, or `default` if it is missing; an error if it is of another type.
    pub fn get_or<T: FromParam>(&self, name: &str, default: T) -> Result<T, ParamError> {
        Ok(self.get_opt(name)?.unwrap_or(default))
    }

    /// Like [`Params::get_or`], and the value (given or default) must lie in `range`:
    /// `params.get_or_in("lookback", 20usize, 1..)?`.
    pub fn get_or_in<T, R>(&self, name: &str, default: T, range: R) -> Result<T, ParamError>
    where
        T: FromParam + PartialOrd + fmt::Debug,
        R: RangeBounds<T> + fmt::Debug,
    {
        let value = self.get_or(name, default)?;
        if range.contains(&value) {
            Ok(value)
        } else {
            Err(ParamError::invalid(
                name,
                format!("must be in {range:?}, found {value:?}"),
            ))
        }
    }

    /// Names and values, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.entries.iter().map(|e| (e.name.as_str(), &e.value))
    }

    /// The first parameter no getter has read.
    pub(crate) fn first_unread(&self) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| !e.read.get())
            .map(|e| e.name.as_str())
    }

    /// Every name a getter asked for, in order, given or not.
    pub(crate) fn asked_names(&self) -> Vec<String> {
        self.asked.borrow().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_access_with_defaults() {
        let p = Params::new()
            .with("n", 20)
            .with("x", 2.5)
            .with("on", true)
            .with("name", "abc")
            .with("neg", -1);
        assert_eq!(p.get::<usize>("n"), Ok(20));
        assert_eq!(p.get::<u32>("n"), Ok(20));
        assert_eq!(p.get::<u64>("n"), Ok(20));
        assert_eq!(p.get::<i64>("neg"), Ok(-1));
        assert_eq!(p.get::<f64>("n"), Ok(20.0));
        assert_eq!(p.get::<f64>("x"), Ok(2.5));
        assert_eq!(p.get::<bool>("on"), Ok(true));
        assert_eq!(p.get::<String>("name"), Ok("abc".to_owned()));
        assert_eq!(p.get_or("absent", 7u32), Ok(7));
        assert_eq!(p.get_opt::<f64>("absent"), Ok(None));
        assert_eq!(p.get_or_in("n", 5usize, 1..), Ok(20));
        assert_eq!(p.get_or_in("absent", 0.5, 0.0..=1.0), Ok(0.5));
        let e = p.get_or_in("x", 0.1, 0.0..1.0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "parameter `x`: must be in 0.0..1.0, found 2.5"
        );
        assert!(p.get_or_in("nan", f64::NAN, 0.0..).is_err());
    }

    #[test]
    fn errors_name_the_parameter_and_the_expected_type() {
        let p = Params::new()
            .with("n", 2.5)
            .with("neg", -1)
            .with("big", i64::MAX);
        let e = p.get_or("n", 20usize).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("n"));
        assert!(
            e.message.contains("usize") && e.message.contains("float 2.5"),
            "{e}"
        );
        let e = p.get::<usize>("neg").unwrap_err();
        assert!(e.message.contains("integer -1"), "{e}");
        assert!(p.get::<u32>("big").is_err());
        assert!(p.get::<bool>("n").is_err());
        let e = p.get::<f64>("missing").unwrap_err();
        assert_eq!(e.param.as_deref(), Some("missing"));
        assert!(e.to_string().contains("`missing`: missing"), "{e}");
    }

    #[test]
    fn tracks_unread_and_duplicate_parameters() {
        let p = Params::new().with("a", 1).with("b", 2);
        assert_eq!(p.first_unread(), Some("a"));
        let _ = p.get_or("a", 0i64);
        assert_eq!(p.first_unread(), Some("b"));
        let _ = p.get_opt::<f64>("c");
        assert_eq!(p.asked_names(), vec!["a", "c"]);
        let dup = Params::from_pairs([
            ("a".to_owned(), ParamValue::Integer(1)),
            ("a".to_owned(), ParamValue::Integer(2)),
        ]);
        assert_eq!(dup.unwrap_err().param.as_deref(), Some("a"));
    }
}
