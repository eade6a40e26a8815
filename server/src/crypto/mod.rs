//! Pure cryptography: blinding, request signatures, onion layers, bencode. No IO.
