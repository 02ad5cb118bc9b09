//! The zip archive `torch.save` writes: finding `data.pkl`, checking the byte order, and
//! reading storages.
//!
//! Layout: `<prefix>/data.pkl` (the pickle), `<prefix>/data/<key>` (one file of raw
//! little-endian bytes per storage), `<prefix>/byteorder` (`little`; absent in files from
//! older PyTorch versions, read as little-endian as PyTorch does), `<prefix>/version` and a few
//! bookkeeping records. `<prefix>` is the archive's one top-level folder: the saved file's stem
//! for a current PyTorch, `archive` for older ones.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use zip::ZipArchive;
use zip::result::ZipError;

use crate::error::ErrorKind;

/// What the legacy (pre-1.6) `torch.save` format starts with: pickle protocol 2 (`80 02`)
/// and the magic number `0x1950a86a20f9469cfc6c` as a 10-byte `LONG1` (`8a 0a ...`).
const LEGACY_MAGIC: [u8; 14] = [
    0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19,
];

/// An open `torch.save` archive, with the storages read so far.
pub(crate) struct Archive {
    zip: ZipArchive<File>,
    /// `<prefix>/`, with the slash.
    prefix: String,
    /// Storages by key, each trimmed to the bytes the pickle declares.
    storages: HashMap<String, Vec<u8>>,
}

impl Archive {
    /// Opens the archive, tells the legacy format and non-zip files apart, finds the top-level
    /// `data.pkl` and checks the byte order.
    pub(crate) fn open(path: &Path) -> Result<Archive, ErrorKind> {
        let mut file = File::open(path)?;
        let mut head = Vec::new();
        (&mut file)
            .take(LEGACY_MAGIC.len() as u64)
            .read_to_end(&mut head)?;
        if !head.starts_with(b"PK") {
            return Err(if head == LEGACY_MAGIC {
                ErrorKind::Legacy
            } else {
                ErrorKind::NotZip
            });
        }
        file.seek(SeekFrom::Start(0))?;
        let zip = ZipArchive::new(file).map_err(zip_error)?;
        // The one top-level `<folder>/data.pkl` (the first by name, should there be several).
        let data_pkl = zip
            .file_names()
            .filter(|name| {
                name.strip_suffix("data.pkl")
                    .and_then(|p| p.strip_suffix('/'))
                    .is_some_and(|folder| !folder.is_empty() && !folder.contains('/'))
            })
            .min()
            .ok_or(ErrorKind::MissingDataPkl)?;
        let prefix = data_pkl[..data_pkl.len() - "data.pkl".len()].to_string();
        let mut archive = Archive {
            zip,
            prefix,
            storages: HashMap::new(),
        };
        if let Some(order) = archive.record("byteorder")? {
            let order = String::from_utf8_lossy(&order).trim().to_string();
            if order != "little" {
                return Err(ErrorKind::ByteOrder(order));
            }
        }
        Ok(archive)
    }

    /// The pickle, `<prefix>/data.pkl`.
    pub(crate) fn data_pkl(&mut self) -> Result<Vec<u8>, ErrorKind> {
        self.record("data.pkl")?.ok_or(ErrorKind::MissingDataPkl)
    }

    /// The bytes of storage `key` (`<prefix>/data/<key>`): `numel` elements of `elem_size`
    /// bytes. Read once, then served from memory.
    pub(crate) fn storage(
        &mut self,
        key: &str,
        numel: u64,
        elem_size: usize,
    ) -> Result<&[u8], ErrorKind> {
        if !self.storages.contains_key(key) {
            let mut bytes = self
                .record(&format!("data/{key}"))?
                .ok_or_else(|| ErrorKind::MissingStorage { key: key.into() })?;
            let expected = numel.saturating_mul(elem_size as u64);
            if (bytes.len() as u64) < expected {
                return Err(ErrorKind::ShortStorage {
                    key: key.into(),
                    expected,
                    actual: bytes.len() as u64,
                });
            }
            // `expected <= bytes.len()`, so it fits in usize.
            bytes.truncate(expected as usize);
            self.storages.insert(key.to_string(), bytes);
        }
        Ok(self.storages.get(key).map_or(&[], Vec::as_slice))
    }

    /// The record `<prefix>/<name>`, or `None` when the archive has no such entry.
    fn record(&mut self, name: &str) -> Result<Option<Vec<u8>>, ErrorKind> {
        let mut entry = match self.zip.by_name(&format!("{}{name}", self.prefix)) {
            Ok(entry) => entry,
            Err(ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(zip_error(e)),
        };
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| ErrorKind::Zip(format!("corrupt entry {}{name}: {e}", self.prefix)))?;
        Ok(Some(bytes))
    }
}

fn zip_error(e: ZipError) -> ErrorKind {
    ErrorKind::Zip(match e {
        ZipError::UnsupportedArchive(what) => {
            format!("unsupported zip archive: {what} (torch.save stores its entries uncompressed)")
        }
        other => format!("corrupt or truncated zip archive: {other}"),
    })
}
