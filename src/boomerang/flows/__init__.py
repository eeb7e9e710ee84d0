"""Work that spans domains: one short module per flow; domains never import flows."""
