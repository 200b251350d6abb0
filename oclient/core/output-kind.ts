/**
 * Which --output an H.264 (+ AAC) movie and an MJPEG movie take: .mkv or .mp4 (remuxed, no
 * re-encoding) for the first, concatenated JPEG (FILE.mjpeg, or any other name, as always) for
 * the second. Checked before the login from the movie's name (servers name H.264 movies by their
 * file, which ends in .mp4, .m4v, .mov or .mkv), and after it from the catalogue entry.
 */

/** What H.264 (+ AAC) movies' names end in (onode/media/av-library.ts serves these files). */
export const AV_MOVIE_NAME = /\.(mp4|m4v|mov|mkv)$/i;
/** The outputs written as a container (AvOutput). */
export const AV_OUTPUT_NAME = /\.(mkv|mp4)$/i;

/** Whether the movie's name says H.264; undefined when it says nothing (then the catalogue tells). */
export function avByName(movie: string): boolean | undefined {
  return AV_MOVIE_NAME.test(movie) ? true : /\.(mjpeg|mjpg)$/i.test(movie) ? false : undefined;
}

/** Why `output` does not fit the movie, or null when it does. */
export function outputMismatch(output: string, movie: string, av: boolean): string | null {
  const container = AV_OUTPUT_NAME.test(output);
  if (av && !container) {
    return `${movie} is an H.264 movie: --output must end in .mkv or .mp4 (it is remuxed, without re-encoding)`;
  }
  if (!av && container) {
    return `${movie} is an MJPEG movie: --output ${output} would be a container; write FILE.mjpeg (concatenated JPEG)`;
  }
  return null;
}
