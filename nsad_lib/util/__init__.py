"""Small helpers with no nsad-lib dependencies: atomic writes, bounded reads of untrusted files,
user cache paths, and one-line wording for OS errors on user paths."""
