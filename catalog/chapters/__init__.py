"""Chapter marks (where breaks may fall): their origins, black-frame detection, and the editor."""
