/** The longest timeout Node.js timers take (2^31-1 ms; a longer one fires at once), in seconds. */
export const MAX_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000)
