# The script of the disk-report template (disk-report.json): the --top
# largest files directly in --dir, as one JSON list of {name, size}.
def main [
  --dir: string                  # the directory to look at
  --top: string = "5"            # how many files (a template passes text)
] {
  ls --all $dir
  | where type == file
  | sort-by size --reverse
  | first ($top | into int)
  | select name size
  | update size { into int }
  | to json --raw
}
