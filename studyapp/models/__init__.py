"""The models the labs can use, without Qt: `entry` says what one is (name, source, size),
`loading` turns files and presets into entries and checks they fit the machine."""
