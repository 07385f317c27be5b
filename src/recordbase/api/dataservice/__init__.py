"""The UiPath Data Service / Data Fabric dialect: handlers and rendering."""
