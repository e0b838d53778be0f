//! `Environment.NewLine`: "\r\n" on the managed gateway (Windows), "\n" on a Linux host such as
//! the self-hosted gateway container or the Mono oracle. Indented JSON, `AppendLine` and
//! indented XML use it. Thread-local so one evaluation can run as another platform would.

use std::cell::Cell;

/// The managed gateway's line break.
pub const WINDOWS_NEW_LINE: &str = "\r\n";
/// A Linux host's line break.
pub const UNIX_NEW_LINE: &str = "\n";

thread_local! {
    static NEW_LINE: Cell<&'static str> = const { Cell::new(WINDOWS_NEW_LINE) };
}

/// `Environment.NewLine` for code running on this thread.
pub fn new_line() -> &'static str {
    NEW_LINE.with(Cell::get)
}

/// Runs `f` with `Environment.NewLine` set to `nl` on this thread, then restores the previous one.
pub fn with_new_line<R>(nl: &'static str, f: impl FnOnce() -> R) -> R {
    struct Restore(&'static str);
    impl Drop for Restore {
        fn drop(&mut self) {
            NEW_LINE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(NEW_LINE.with(|c| c.replace(nl)));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_line_is_windows_by_default_and_scoped() {
        assert_eq!(new_line(), "\r\n");
        assert_eq!(with_new_line(UNIX_NEW_LINE, new_line), "\n");
        assert_eq!(new_line(), "\r\n");
    }
}
