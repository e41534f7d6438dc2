/**
 * What GraphiQL shows a new user first: start a job, then follow it. GraphiQL runs one operation at a time (running
 * another, in any tab, stops a subscription) and shows only a subscription's latest result, so the flow is two
 * steps in one tab, and Follow's replay makes the order safe: its last result is the event with done: true.
 * Every line stays within 48 columns: the editor's visible width beside the result pane in a 1280 px window.
 */
export const GRAPHIQL_DEFAULT_QUERY = `# 1. Cursor in "Start", then Ctrl+Enter:
#    the job answers at once, RUNNING.
# 2. Cursor in "Follow", then Ctrl+Enter:
#    it replays what you missed, then goes
#    live, and ends with done: true.
# GraphiQL runs one operation at a time:
# running another stops Follow. To resume,
# set after to the last sequence you saw.
# Same jobId, same job: change "demo-1" in
# Start and Follow for a new batch.
# Without TOGETHER_API_KEY, the pictures are
# labelled offline placeholders.

mutation Start {
  startWorksheetImages(input: {
    jobId: "demo-1"
    images: [
      { id: "0-0", width: 512, height: 512,
        prompt: "An elephant counting apples" }
      { id: "0-1", width: 512, height: 384,
        prompt: "Three red apples on a table" }
    ]
  }) {
    id
    status
    stats { total successful failed pending }
  }
}

subscription Follow {
  generationProgress(
    jobId: "demo-1"
    after: 0
  ) {
    sequence
    done
    progress { completed total errors current }
    image {
      requestId
      status
      error { code message }
    }
  }
}

query Job {
  generationJob(id: "demo-1") {
    status
    stats { total successful failed durationMs }
    results {
      requestId
      status
      url
      error { code message }
    }
  }
}
`;
