"""Pure SLO math and spec handling: arrays and dataclasses in and out, no I/O, no clock."""
