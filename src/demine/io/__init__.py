"""Reading and writing the field's files: GeoPackage, Shapefile, GeoJSON, KML, CSV, XLSX."""
