"""What only the Train page uses: settings widgets, data loading and preview, run controls, the live panel,
training health checks (banners) and the run's downloadable files."""
