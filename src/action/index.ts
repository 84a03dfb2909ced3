import { run } from './main.js'
import { post } from './post.js'
import { isPostStep, markMainStepRan } from './state.js'

// action.yml runs this one file as the main step and as the post step. The main step leaves a flag
// in the state first thing, so that the post step, which is handed the state, knows it is the post
// step (as actions/checkout does).
if (isPostStep()) {
  void post()
} else {
  markMainStepRan()
  void run()
}
