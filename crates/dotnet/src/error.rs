//! The .NET exception a library call throws, typed so the evaluator can map it to a catchable
//! C# exception.

use std::fmt;

/// Which .NET exception type was thrown (the simple type name is [`ExceptionKind::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExceptionKind {
    FormatException,
    OverflowException,
    InvalidCastException,
    ArgumentException,
    ArgumentNullException,
    ArgumentOutOfRangeException,
    IndexOutOfRangeException,
    InvalidOperationException,
    KeyNotFoundException,
    NullReferenceException,
    DivideByZeroException,
    ArithmeticException,
    NotSupportedException,
    OutOfMemoryException,
    JsonReaderException,
    JsonSerializationException,
    JsonException,
    UriFormatException,
    RegexMatchTimeoutException,
}

impl ExceptionKind {
    /// The simple .NET type name, e.g. `FormatException`.
    pub fn name(self) -> &'static str {
        match self {
            ExceptionKind::FormatException => "FormatException",
            ExceptionKind::OverflowException => "OverflowException",
            ExceptionKind::InvalidCastException => "InvalidCastException",
            ExceptionKind::ArgumentException => "ArgumentException",
            ExceptionKind::ArgumentNullException => "ArgumentNullException",
            ExceptionKind::ArgumentOutOfRangeException => "ArgumentOutOfRangeException",
            ExceptionKind::IndexOutOfRangeException => "IndexOutOfRangeException",
            ExceptionKind::InvalidOperationException => "InvalidOperationException",
            ExceptionKind::KeyNotFoundException => "KeyNotFoundException",
            ExceptionKind::NullReferenceException => "NullReferenceException",
            ExceptionKind::DivideByZeroException => "DivideByZeroException",
            ExceptionKind::ArithmeticException => "ArithmeticException",
            ExceptionKind::NotSupportedException => "NotSupportedException",
            ExceptionKind::OutOfMemoryException => "OutOfMemoryException",
            ExceptionKind::JsonReaderException => "JsonReaderException",
            ExceptionKind::JsonSerializationException => "JsonSerializationException",
            ExceptionKind::JsonException => "JsonException",
            ExceptionKind::UriFormatException => "UriFormatException",
            ExceptionKind::RegexMatchTimeoutException => "RegexMatchTimeoutException",
        }
    }

    /// The .NET base types this exception derives from (most derived first, excluding itself),
    /// so `catch (ArgumentException)` can catch an `ArgumentOutOfRangeException`.
    pub fn base_names(self) -> &'static [&'static str] {
        match self {
            ExceptionKind::ArgumentNullException | ExceptionKind::ArgumentOutOfRangeException => {
                &["ArgumentException", "SystemException", "Exception"]
            }
            ExceptionKind::ArithmeticException => &["SystemException", "Exception"],
            ExceptionKind::OverflowException | ExceptionKind::DivideByZeroException => {
                &["ArithmeticException", "SystemException", "Exception"]
            }
            ExceptionKind::UriFormatException => {
                &["FormatException", "SystemException", "Exception"]
            }
            ExceptionKind::JsonReaderException | ExceptionKind::JsonSerializationException => {
                &["JsonException", "Exception"]
            }
            ExceptionKind::JsonException => &["Exception"],
            ExceptionKind::RegexMatchTimeoutException => {
                &["TimeoutException", "SystemException", "Exception"]
            }
            _ => &["SystemException", "Exception"],
        }
    }
}

impl fmt::Display for ExceptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A .NET exception: its type and its `Message` (with .NET's wording where practical).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct DotNetException {
    pub kind: ExceptionKind,
    pub message: String,
}

/// Result of a .NET library call.
pub type DotNetResult<T> = Result<T, DotNetException>;

impl DotNetException {
    pub fn new(kind: ExceptionKind, message: impl Into<String>) -> Self {
        DotNetException {
            kind,
            message: message.into(),
        }
    }
    pub fn format(message: impl Into<String>) -> Self {
        Self::new(ExceptionKind::FormatException, message)
    }
    pub fn overflow(message: impl Into<String>) -> Self {
        Self::new(ExceptionKind::OverflowException, message)
    }
    pub fn invalid_cast(message: impl Into<String>) -> Self {
        Self::new(ExceptionKind::InvalidCastException, message)
    }
    pub fn argument(message: impl Into<String>) -> Self {
        Self::new(ExceptionKind::ArgumentException, message)
    }
    /// `ArgumentNullException` with .NET Core's message: "Value cannot be null. (Parameter 'x')".
    pub fn argument_null(param: &str) -> Self {
        Self::new(
            ExceptionKind::ArgumentNullException,
            format!("Value cannot be null. (Parameter '{param}')"),
        )
    }
    /// `ArgumentOutOfRangeException` with .NET Core's "message (Parameter 'x')" shape.
    pub fn out_of_range(param: &str, message: &str) -> Self {
        Self::new(
            ExceptionKind::ArgumentOutOfRangeException,
            format!("{message} (Parameter '{param}')"),
        )
    }
    pub fn invalid_operation(message: impl Into<String>) -> Self {
        Self::new(ExceptionKind::InvalidOperationException, message)
    }
    pub fn json_reader(message: impl Into<String>) -> Self {
        Self::new(ExceptionKind::JsonReaderException, message)
    }
    /// A member this library does not implement yet: a clear error, never a silent no-op.
    pub fn not_supported(what: &str) -> Self {
        Self::new(
            ExceptionKind::NotSupportedException,
            format!("{what} is not supported by apim-emu yet."),
        )
    }
    /// A result string too large to build (guards against requests for gigabyte strings).
    pub fn out_of_memory() -> Self {
        Self::new(
            ExceptionKind::OutOfMemoryException,
            "Insufficient memory to continue the execution of the program.",
        )
    }
    /// "Input string was not in a correct format." (.NET's FormatException for number parsing).
    pub fn bad_number_format() -> Self {
        Self::format("Input string was not in a correct format.")
    }
    pub fn is(&self, name: &str) -> bool {
        self.kind.name() == name || self.kind.base_names().contains(&name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_by_base_type() {
        let e = DotNetException::out_of_range("index", "Index was out of range.");
        assert!(e.is("ArgumentException"));
        assert!(e.is("Exception"));
        assert!(!e.is("FormatException"));
        assert_eq!(e.message, "Index was out of range. (Parameter 'index')");
    }
}
