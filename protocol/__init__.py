"""Pure parsing, checking and editing of Baton's two markdown formats. No I/O, no clocks."""
