"""Campaign management: the pure domain core, the rows, and the channels."""
