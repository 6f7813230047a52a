//! Errors as one line for warnings: the message and each cause below it.

use std::error::Error;

/// The errors below `error`, nearest first.
fn sources<'a>(
    error: &'a (dyn Error + 'static),
) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(error.source(), |e: &&'a (dyn Error + 'static)| {
        (*e).source()
    })
}

/// `error` and its sources joined as `a: b: c`, as anyhow's `{:#}` prints them.
pub(crate) fn with_causes(error: &(dyn Error + 'static)) -> String {
    std::iter::once(error.to_string())
        .chain(sources(error).map(ToString::to_string))
        .collect::<Vec<_>>()
        .join(": ")
}

/// Only the causes below `error`'s own message.
pub(crate) fn causes(error: &(dyn Error + 'static)) -> String {
    sources(error)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(": ")
}
