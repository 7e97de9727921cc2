"""Pure spatial logic of gridgov: no SQL, no Flask, no file I/O."""
