"""The steps of the 新建办件 wizard, one widget each, and the messages they post to the intake screen."""
