//! Tests of receiver configuration decoding, defaults, checks and global inheritance.
