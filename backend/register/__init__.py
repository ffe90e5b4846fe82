"""The region's contract register: dated contract terms, the tariff table, import and export."""
