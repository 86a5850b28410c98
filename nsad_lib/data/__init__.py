"""Small real-data samples shipped with nsad-lib (see samples/README.md for licenses)."""
