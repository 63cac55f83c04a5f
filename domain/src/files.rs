//! The `files` of a turn, checked against the allowed roots for the real
//! file: first as written (so nothing outside the roots is even looked up,
//! and the answer is no oracle of what exists there), then as resolved.

use crate::error::Error;
use crate::model::path_is_allowed;
use crate::ports::PathResolver;

/// The resolved paths, in order, or the 422 that names the first bad one.
pub async fn resolve_files(
    resolver: &dyn PathResolver,
    roots: &[String],
    files: &[String],
) -> Result<Vec<String>, Error> {
    let mut out = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let field = || format!("files[{i}]");
        if !path_is_allowed(f, roots) {
            return Err(Error::invalid(field(), "is not an absolute path without '..' inside the allowed roots"));
        }
        let Some(real) = resolver.resolve(f).await else {
            return Err(Error::invalid(field(), "does not exist"));
        };
        if !path_is_allowed(&real, roots) {
            return Err(Error::invalid(field(), "leads outside the allowed roots"));
        }
        out.push(real);
    }
    Ok(out)
}
