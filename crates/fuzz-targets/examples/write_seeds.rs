//! Writes the binary seed corpora of the `head_chunks`, `block` and `wal_segment` targets into
//! `fuzz/corpus/` (run again when the file formats change):
//! `cargo run -p firewatch-fuzz-targets --example write_seeds`.

use std::path::Path;

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let head = corpus.join("head_chunks");
    std::fs::create_dir_all(&head).expect("creating the corpus directory");
    std::fs::write(
        head.join("four_chunks"),
        firewatch_fuzz_targets::seed_head_chunk_file(),
    )
    .expect("writing the head chunks seed");
    let block = corpus.join("block");
    std::fs::create_dir_all(&block).expect("creating the corpus directory");
    for (i, (name, bytes)) in firewatch_fuzz_targets::seed_block().iter().enumerate() {
        let mut seed = vec![u8::try_from(i).expect("four files")];
        seed.extend_from_slice(bytes);
        let file = name.replace('/', "_");
        std::fs::write(block.join(file), seed).expect("writing a block seed");
    }
    let wal = corpus.join("wal_segment");
    std::fs::create_dir_all(&wal).expect("creating the corpus directory");
    for (i, (name, bytes)) in firewatch_fuzz_targets::seed_wal_segments()
        .into_iter()
        .enumerate()
    {
        // Even first bytes choose the replay reader, odd ones the live reader: both get seeds.
        let mut seed = vec![u8::try_from(i).expect("three segments")];
        seed.extend_from_slice(&bytes);
        std::fs::write(wal.join(name), seed).expect("writing a WAL segment seed");
    }
    println!("seeds written under {}", corpus.display());
}
