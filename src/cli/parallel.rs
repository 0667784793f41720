//! Work spread over the cores: one worker per core, the calling thread
//! among them (so its memory is reused from one call to the next), each
//! taking the next item as it finishes one, so a slow item does not leave
//! a core idle; the results keep the items' order.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` applied to every item, in order; `None` for an item whose `f`
/// panicked (the other items are still done).
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<Option<R>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let work = || -> Vec<(usize, R)> {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return done;
            };
            let one = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item)));
            done.extend(one.ok().map(|r| (i, r)));
        }
    };
    let mut results: Vec<Option<R>> = items.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
        let mut place = |done: Vec<(usize, R)>| {
            for (i, r) in done {
                results[i] = Some(r);
            }
        };
        place(work());
        for handle in handles {
            if let Ok(done) = handle.join() {
                place(done);
            }
        }
    });
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order_and_a_panic_is_none() {
        let items: Vec<u32> = (0..101).collect();
        let doubled = map(&items, |i| i * 2);
        assert_eq!(
            doubled.into_iter().flatten().collect::<Vec<_>>(),
            items.iter().map(|i| i * 2).collect::<Vec<_>>()
        );
        assert!(map(&[] as &[u32], |i| *i).is_empty());
        let boom = 57;
        let results = map(&items, |i| {
            assert!(*i != boom, "boom");
            *i
        });
        assert_eq!(results.len(), items.len());
        for (i, r) in results.into_iter().enumerate() {
            assert_eq!(r.is_none(), i as u32 == boom, "item {i}");
        }
    }
}
