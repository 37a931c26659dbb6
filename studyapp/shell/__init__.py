"""The application shell (Qt): the app and its main window, settings, theme and styles,
navigation between areas, the job helper, the model session and the screenshot command.

The shell composes the areas listed in `studyapp.areas`; it imports an area's view only when the
area is first shown, so no area is built to draw the sidebar or list its shortcuts.
"""
