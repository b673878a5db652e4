/* Placeholder: the lesson renderer (issue 15, Markdown half) ships collapsibles, tabs and copy buttons here. */
