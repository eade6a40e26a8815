//! The invite QR code of a room as a PNG: what `/r/{token}/invite.png` serves, for phones to
//! scan from a screen.

/// PySOGS serves a 512×512 image; so do we.
pub const SIZE: u32 = 512;
/// Quiet zone around the code, in modules, as the QR standard asks.
const QUIET_MODULES: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("the join URL does not fit in a QR code: {0}")]
    TooLong(String),
    #[error("cannot encode the PNG: {0}")]
    Png(String),
}

/// A `SIZE`×`SIZE` black-on-white PNG of `url` as a QR code.
pub fn invite_png(url: &str) -> Result<Vec<u8>, InviteError> {
    let code =
        qrcode::QrCode::new(url.as_bytes()).map_err(|e| InviteError::TooLong(e.to_string()))?;
    let width = u32::try_from(code.width()).map_err(|e| InviteError::TooLong(e.to_string()))?;
    let dark = code.to_colors();
    let modules = width + 2 * QUIET_MODULES;
    // Whole pixels per module, centred; the leftover margin is white.
    let scale = (SIZE / modules).max(1);
    let offset = (SIZE.saturating_sub(scale * modules)) / 2 + QUIET_MODULES * scale;
    let mut pixels = vec![255u8; (SIZE * SIZE) as usize];
    for (i, color) in dark.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let i = i as u32;
        let (mx, my) = (i % width, i / width);
        for y in 0..scale {
            let row = (offset + my * scale + y) * SIZE;
            let start = (row + offset + mx * scale) as usize;
            if let Some(span) = pixels.get_mut(start..start + scale as usize) {
                span.fill(0);
            }
        }
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, SIZE, SIZE);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder
        .write_header()
        .map_err(|e| InviteError::Png(e.to_string()))?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| InviteError::Png(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| InviteError::Png(e.to_string()))?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invite_is_a_512_square_png_with_dark_modules_inside_a_white_border() {
        let url = format!("http://sogs.example/lobby?public_key={}", "ab".repeat(32));
        let png = invite_png(&url).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (SIZE, SIZE));
        let pixels = &buf[..info.buffer_size()];
        assert!(pixels.contains(&0), "no dark module");
        // The corners are quiet zone: white.
        for (x, y) in [(0, 0), (SIZE - 1, 0), (0, SIZE - 1), (SIZE - 1, SIZE - 1)] {
            assert_eq!(pixels[(y * SIZE + x) as usize], 255);
        }
    }

    #[test]
    fn a_url_too_long_for_any_qr_code_is_an_error_not_a_panic() {
        let err = invite_png(&"x".repeat(5000)).unwrap_err();
        assert!(matches!(err, InviteError::TooLong(_)));
    }
}
