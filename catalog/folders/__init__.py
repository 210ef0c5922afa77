"""TMM/Kodi `.nfo` trees and plain media folders: reading them into the catalog."""
