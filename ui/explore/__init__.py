"""What only the Explore page uses: generator sources, the page's sections (seed grid, interpolation, nudging,
publish), cached image building, and the files it writes under the app's data directory."""
