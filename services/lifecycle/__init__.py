"""The life of a voting period: load batches, the seal, tally runs, the dispatch outbox, and the
periods and clock they share (batches -> sealing -> runs -> dispatch)."""
