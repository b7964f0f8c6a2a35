"""Pure domain logic: no Flask, no SQLite, no HTTP, no wall clock, no global randomness."""
