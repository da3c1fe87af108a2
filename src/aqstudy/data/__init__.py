"""Where the input comes from (synthetic, a local folder, the OpenAQ archive) and how it is staged into a bucket."""
