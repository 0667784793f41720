//! Work spread over the cores: the items are split into one share per
//! core, the first share runs on the calling thread (so its memory is
//! reused from one call to the next) and the results keep the items' order.

/// `f` applied to every item, in order; `None` for the items of a share
/// whose thread panicked.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<Option<R>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len().max(1));
    let share = items.len().div_ceil(workers).max(1);
    let work = |part: &[T]| -> Vec<R> { part.iter().map(&f).collect() };
    let mut parts = items.chunks(share);
    let first = parts.next().unwrap_or_default();
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .map(|part| (part.len(), scope.spawn(move || work(part))))
            .collect();
        let mut results: Vec<Option<R>> = work(first).into_iter().map(Some).collect();
        for (len, handle) in handles {
            match handle.join() {
                Ok(done) => results.extend(done.into_iter().map(Some)),
                Err(_) => results.extend((0..len).map(|_| None)),
            }
        }
        results
    })
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
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        if workers > 1 {
            let last = items.len() - 1;
            let results = map(&items, |i| {
                assert!(*i as usize != last, "boom");
                *i
            });
            assert_eq!(results.len(), items.len());
            assert!(results[0].is_some() && results[last].is_none());
        }
    }
}
