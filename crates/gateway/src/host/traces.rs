//! The last N request traces, kept in memory for `GET /_emu/traces/{id}`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;

/// A bounded store: when full, the oldest trace is dropped.
#[derive(Debug)]
pub struct TraceStore {
    capacity: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    order: VecDeque<String>,
    by_id: HashMap<String, Arc<String>>,
}

impl TraceStore {
    pub fn new(capacity: usize) -> Self {
        TraceStore {
            capacity: capacity.max(1),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Stores a trace document (JSON text) under `id`.
    pub fn insert(&self, id: String, json: String) {
        let mut inner = self.inner.lock();
        if inner.by_id.insert(id.clone(), Arc::new(json)).is_none() {
            inner.order.push_back(id);
        }
        while inner.order.len() > self.capacity {
            if let Some(old) = inner.order.pop_front() {
                inner.by_id.remove(&old);
            }
        }
    }

    pub fn get(&self, id: &str) -> Option<Arc<String>> {
        self.inner.lock().by_id.get(id).cloned()
    }

    pub fn len(&self) -> usize {
        self.inner.lock().order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_trace_is_dropped_when_full() {
        let s = TraceStore::new(2);
        s.insert("a".into(), "1".into());
        s.insert("b".into(), "2".into());
        s.insert("c".into(), "3".into());
        assert!(s.get("a").is_none());
        assert_eq!(s.get("b").as_deref().map(String::as_str), Some("2"));
        assert_eq!(s.get("c").as_deref().map(String::as_str), Some("3"));
        assert_eq!(s.len(), 2);
    }
}
